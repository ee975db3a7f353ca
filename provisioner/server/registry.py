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
import re
from dataclasses import dataclass
from typing import Any

import httpx

from provisioner.errors import BadRequest, ConnectionFailed, NotFound, ServerFailure
from provisioner.names import ModelName

ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class RemoteManifest:
    name: ModelName
    digest: str  # "sha256:<hex>" of the registry's bytes
    reserialized_digest: str  # "sha256:<hex>" of what Ollama v0.11.4 writes
    layers: tuple[str, ...]

    def matches(self, local_digest: str) -> bool:
        """Whether a /api/tags digest (hex, no prefix) is this manifest."""
        local = local_digest.removeprefix("sha256:").lower()
        return local in (self.digest[7:], self.reserialized_digest[7:])


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


def _token(client: httpx.Client, challenge: str, name: ModelName) -> str | None:
    """Answer a `WWW-Authenticate: Bearer realm=...` challenge anonymously."""
    if not challenge.lower().startswith("bearer "):
        return None
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", None)
    if not realm:
        return None
    answer = client.get(realm, params=params)
    if answer.status_code != 200:
        return None
    body = answer.json()
    token = body.get("token") or body.get("access_token")
    return str(token) if token else None


def fetch_manifest(
    name: ModelName, *, insecure: bool = False, reference: str | None = None, timeout: float = 30.0
) -> RemoteManifest:
    """GET the manifest for name's tag (or a digest reference) from its registry."""
    scheme = "http" if insecure else "https"
    ref = reference or name.tag
    repository = registry_repository(name)
    url = f"{scheme}://{name.host.lower()}/v2/{repository}/manifests/{ref}"
    shown = name.display
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = client.get(url, headers={"Accept": ACCEPT})
            if response.status_code == 401:
                token = _token(client, response.headers.get("www-authenticate", ""), name)
                if token:
                    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {token}"}
                    response = client.get(url, headers=headers)
    except httpx.HTTPError as e:
        hint = "" if insecure else " (a plain-http registry needs `insecure: true`)"
        raise ConnectionFailed(f"cannot reach registry {name.host}: {e}{hint}", model=shown) from e
    if response.status_code == 404:
        raise NotFound(f"registry {name.host} has no {repository}:{ref}", model=shown)
    if response.status_code >= 500:
        raise ServerFailure(f"registry answered {response.status_code}", model=shown)
    if response.status_code != 200:
        raise BadRequest(
            f"registry answered {response.status_code}: {response.text.strip()[:200]}", model=shown
        )
    raw = response.content
    doc = json.loads(raw)
    layers = tuple(layer.get("digest", "") for layer in doc.get("layers") or [])
    return RemoteManifest(
        name=name, digest=_sha(raw), reserialized_digest=_sha(go_reserialize(raw)), layers=layers
    )
