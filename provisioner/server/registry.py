"""Read a model's manifest straight from its registry (for pins and update checks).

Ollama's /api/tags digest is the hash of the manifest file Ollama wrote.
v0.32+ writes the registry's bytes unchanged; v0.11.4 re-serializes them with
Go's json.Marshal (compact, fields in struct order). A local model matches a
registry manifest when its digest equals either hash, so we compute both.

Names compare case-insensitively in Ollama, but a distribution registry serves
repositories under lower-case paths only (its grammar has no upper case), so
the repository and host are asked for in lower case: `REG/library/TINY` reads
`/v2/library/tiny/...`, which is what `ollama pull REG/library/TINY` gets once
Ollama has folded the name onto the model it holds. The tag is sent as written
(registry tags are case-sensitive).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from provisioner.errors import (
    BadAnswer,
    BadRequest,
    NotFound,
    ServerError,
    ServerFailure,
)
from provisioner.names import ModelName
from provisioner.server import bounds
from provisioner.server.bounds import SMALL_ANSWER_BYTES, read_bounded
from provisioner.server.failures import Wording, body_kind, ollama_error, transport_error
from provisioner.server.retry import DEFAULT_RETRY, RetryCallback, RetryPolicy, with_retry
from provisioner.types.state import RemoteManifest

ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"

__all__ = ["RemoteManifest", "fetch_manifest"]  # RemoteManifest lives in types/state.py


def _go_layer(layer: dict[str, Any]) -> dict[str, Any]:
    out = {
        "mediaType": layer.get("mediaType", ""),
        "digest": layer.get("digest", ""),
        "size": layer.get("size", 0),
    }
    if layer.get("from"):
        out["from"] = layer["from"]
    return out


def go_reserialize(raw: bytes) -> bytes:
    """The bytes Go's json.Marshal writes for Ollama's Manifest struct."""
    doc = json.loads(raw)
    shaped = {
        "schemaVersion": doc.get("schemaVersion", 0),
        "mediaType": doc.get("mediaType", ""),
        "config": _go_layer(doc.get("config") or {}),
        "layers": [_go_layer(layer) for layer in doc.get("layers") or []],
    }
    text = json.dumps(shaped, separators=(",", ":"), ensure_ascii=False)
    # Go escapes these three for HTML safety.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def registry_repository(name: ModelName) -> str:
    """The repository path a registry serves `name` under: namespace/model in lower case."""
    return f"{name.namespace}/{name.model}".lower()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _authorization(
    client: httpx.Client, challenge: str, name: ModelName, timeout: float
) -> str | None:
    """Answer a 401's `WWW-Authenticate` challenge (server/registry_auth.py): a bearer
    token (anonymous unless the docker config or the environment holds credentials for
    the host), or basic auth with those credentials."""
    from provisioner.server.registry_auth import answer_challenge, find_credentials

    answer = answer_challenge(client, challenge, find_credentials(name.host), seconds=timeout)
    return answer.header if answer is not None else None


def _unreachable(e: httpx.HTTPError, name: ModelName, insecure: bool) -> ServerError:
    host = name.host
    hint = "" if insecure else " (a plain-http registry needs `insecure: true`)"
    words = registry_wording(
        host, "check the host in the model's name and this machine's DNS", hint
    )
    return transport_error(e, words, host=host, model=name.display)


def registry_wording(
    host: str, unresolved_hint: str, plain_http_hint: str, insecure_fix: str = "insecure: true"
) -> Wording:
    """How a registry's connection failures read, for the manifest reads and the mirror."""
    unresolved = f"cannot resolve the registry host {host} (no such host)"
    reach = f"cannot reach registry {host}: {{exc}}{plain_http_hint}"
    return Wording(
        timeout=f"registry {host} did not answer in time",
        unresolved=f"{unresolved}: {unresolved_hint}" if unresolved_hint else unresolved,
        refused=reach,
        broken=reach,
        plain_http=f"registry {host} speaks plain http, not https: set {insecure_fix}",
    )


def _fetch_once(
    name: ModelName, url: str, insecure: bool, timeout: float, shown_ref: str
) -> RemoteManifest:
    shown = name.display

    def too_large() -> BadAnswer:
        return BadAnswer(
            f"registry {name.host} answered more than {SMALL_ANSWER_BYTES >> 20} MB for "
            f"{shown_ref}, which no manifest is; is this a registry?",
            model=shown,
        )

    def get(client: httpx.Client, headers: dict[str, str], where: str = url) -> httpx.Response:
        return read_bounded(
            client,
            "GET",
            where,
            headers=headers,
            seconds=timeout,
            limit=SMALL_ANSWER_BYTES,
            too_large=too_large,
        )

    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=True, transport=bounds.transport()
        ) as client:
            headers = {"Accept": ACCEPT}
            response = get(client, headers)
            if response.status_code == 401:
                said = response.headers.get("www-authenticate", "")
                authorization = _authorization(client, said, name, timeout)
                if authorization:
                    headers["Authorization"] = authorization
                    response = get(client, headers)
            if response.status_code == 404:
                # The manifest's 404 does not say whether the repository or only the
                # tag is missing (distribution answers MANIFEST_UNKNOWN for both); the
                # tag list does, and names the tags there are.
                listed = get(client, headers, url.rpartition("/manifests/")[0] + "/tags/list")
                message = _no_such(name, shown_ref, _tags(listed))
                raise NotFound(message, model=shown, status=404)
    except httpx.HTTPError as e:
        raise _unreachable(e, name, insecure) from e
    status = response.status_code
    if status in (401, 403):
        from provisioner.server.registry_auth import auth_failed, find_credentials

        credentials = find_credentials(name.host)
        raise auth_failed(name.host, f"reading {shown_ref}", credentials, model=shown)
    said = f"registry {name.host} answered {status} {response.reason_phrase}"
    if status >= 500 or status == 429:
        raise ServerFailure(said, model=shown, status=status)
    if status != 200:
        hint = ollama_error(response) or body_kind(response)
        raise BadRequest(f"{said} ({hint})", model=shown, status=status)
    raw = response.content
    try:
        doc = json.loads(raw)
        parts = [*(doc.get("layers") or []), doc.get("config") or {}]
        layers = tuple(str(layer["digest"]) for layer in doc.get("layers") or [])
        blobs = tuple((str(p["digest"]), int(p.get("size") or 0)) for p in parts if p.get("digest"))
        size = sum(n for _, n in blobs)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadAnswer(
            f"registry {name.host} answered 200 for {shown_ref} with {body_kind(response)} "
            "that is not a manifest",
            model=shown,
        ) from None
    return RemoteManifest(
        name=name,
        digest=_sha(raw),
        reserialized_digest=_sha(go_reserialize(raw)),
        layers=layers,
        size=size,
        blobs=blobs,
    )


def _tags(response: httpx.Response) -> list[str] | None:
    """The tags a repository's tag list names; None when the repository is not there
    (or the answer is not a tag list)."""
    if response.status_code != 200:
        return None
    try:
        tags = response.json().get("tags")
    except (ValueError, AttributeError):
        return None
    return [str(t) for t in tags] if isinstance(tags, list) else None


def _no_such(name: ModelName, shown_ref: str, tags: list[str] | None) -> str:
    """A 404 in words that say what to fix: the repository, or only the tag."""
    repository = registry_repository(name)
    if not tags:
        return (
            f"registry {name.host} has no repository {repository}: "
            "check the model's name (and its namespace) in the manifest"
        )
    ref = shown_ref[len(repository) + 1 :]
    if ref.startswith("sha256:"):
        return f"registry {name.host} has no manifest {ref} in {repository}"
    shown = ", ".join(sorted(tags)[:8]) + (", ..." if len(tags) > 8 else "")
    return (
        f"registry {name.host} has no tag {ref} of {repository} "
        f"(it has {shown}): check the tag in the manifest"
    )


def fetch_manifest(
    name: ModelName,
    *,
    insecure: bool = False,
    reference: str | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_retry: RetryCallback | None = None,
) -> RemoteManifest:
    """GET the manifest for name's tag (or a digest reference) from its registry, under
    the same retry policy as requests to Ollama."""
    scheme = "http" if insecure else "https"
    ref = reference or name.tag
    repository = registry_repository(name)
    url = f"{scheme}://{name.host.lower()}/v2/{repository}/manifests/{ref}"
    shown_ref = f"{repository}:{ref}"
    return with_retry(
        lambda: _fetch_once(name, url, insecure, timeout, shown_ref), retry, on_retry, name.display
    )
