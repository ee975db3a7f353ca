"""One registry over the OCI distribution API: manifests, blobs, uploads, mounts.

Authentication follows the registry's 401: a Bearer challenge is answered at its
token endpoint (anonymously, or with credentials from server/registry_auth.py), a Basic one with
the user and password; the answer is kept per repository and access, so later
requests send it up front. An upload always starts with a body-less POST, so a
challenge is met before any blob bytes are sent.

Blob downloads follow redirects (Ollama's registry and the test bed send blobs from
another host); httpx drops the Authorization header when a redirect leaves the host.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from provisioner.errors import (
    AuthFailed,
    BadAnswer,
    BadRequest,
    NotFound,
    ServerError,
    ServerFailure,
)
from provisioner.mirror.verify import check_bytes, sha256_digest
from provisioner.server import bounds
from provisioner.server import registry_auth as auth
from provisioner.server.bounds import SMALL_ANSWER_BYTES, read_bounded
from provisioner.server.failures import body_kind, transport_error
from provisioner.server.registry import ACCEPT as DOCKER_MANIFEST
from provisioner.server.registry import registry_wording

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_TYPES = f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"
CHUNK = 1 << 20
PULL, PUSH = "pull", "pull,push"


@dataclass(frozen=True)
class FetchedManifest:
    raw: bytes
    media_type: str
    digest: str  # sha256 of raw


class Registry:
    """A client for one registry host; safe to share between threads."""

    def __init__(self, host: str, *, insecure: bool, timeout: float = 30.0) -> None:
        self.host = host
        self.insecure = insecure
        self.base = f"{'http' if insecure else 'https'}://{host}"
        self._timeout = timeout  # the whole of each request that is not a blob transfer
        # Reads of a large blob may pause between chunks; connect and write stay bounded.
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, read=max(timeout, 120.0)),
            transport=bounds.transport(
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16)
            ),
        )
        self._auth: dict[tuple[str, str], str] = {}  # (repository, access) -> header
        self._basic: str | None = None  # basic auth holds for every repository of the host
        self._credentials: auth.Credentials | None = None
        self._looked_up = False
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # --- requests and the 401 dance ---------------------------------------------------

    def _credentials_for_host(self) -> auth.Credentials | None:
        with self._lock:
            if not self._looked_up:
                self._credentials = auth.find_credentials(self.host)
                self._looked_up = True
            return self._credentials

    def _authorize(self, response: httpx.Response, repo: str, access: str) -> bool:
        """Answer a 401's challenge; True when there is something new to try."""
        answer = auth.answer_challenge(
            self._http,
            response.headers.get("www-authenticate", ""),
            self._credentials_for_host(),
            seconds=self._timeout,
        )
        if answer is None or self._header(repo, access) == answer.header:
            return False
        if answer.registry_wide:
            self._basic = answer.header
        else:
            self._auth[(repo, access)] = answer.header
        return True

    def _header(self, repo: str, access: str) -> str | None:
        return self._auth.get((repo, access)) or self._basic

    def _request(
        self,
        method: str,
        url: str,
        repo: str,
        access: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        follow: bool = False,
    ) -> httpx.Response:
        """A request with no streamed body, answered within the timeout and a few MB:
        retried once with credentials after a 401."""

        def too_large() -> BadAnswer:
            return BadAnswer(
                f"registry {self.host} answered {method} {url} with more than "
                f"{SMALL_ANSWER_BYTES >> 20} MB; is this a registry?",
                host=self.host,
            )

        for _ in range(2):
            sent = {**(headers or {})}
            if (header := self._header(repo, access)) is not None:
                sent["Authorization"] = header
            try:
                response = read_bounded(
                    self._http,
                    method,
                    url,
                    seconds=self._timeout,
                    limit=SMALL_ANSWER_BYTES,
                    too_large=too_large,
                    headers=sent,
                    params=params,
                    content=content,
                    follow_redirects=follow,
                )
            except httpx.HTTPError as e:
                raise self._unreachable(e) from e
            if response.status_code != 401 or not self._authorize(response, repo, access):
                return response
        return response

    def _url(self, repo: str, kind: str, ref: str) -> str:
        return f"{self.base}/v2/{repo}/{kind}/{ref}"

    def _unreachable(self, e: httpx.HTTPError) -> ServerError:
        hint = "" if self.insecure else " (a plain-http registry needs --to-insecure / insecure)"
        words = registry_wording(self.host, "", hint, "--to-insecure (or insecure: true)")
        return transport_error(e, words, host=self.host)

    def _failed(self, response: httpx.Response, what: str) -> ServerError:
        status = response.status_code
        said = f"registry {self.host} answered {status} {response.reason_phrase} to {what}"
        if status == 401:
            return self._auth_failed(response, what)
        if status == 404:
            return NotFound(f"registry {self.host} has no {what}", status=status, host=self.host)
        if status >= 500 or status == 429:
            return ServerFailure(said, status=status, host=self.host)
        return BadRequest(f"{said} ({_error_text(response)})", status=status, host=self.host)

    def _auth_failed(self, response: httpx.Response, what: str) -> AuthFailed:
        return auth.auth_failed(self.host, what, self._credentials_for_host())

    def check_access(self, repo: str) -> None:
        """Meet the registry's challenge once, before any copying: a registry that wants
        credentials we lack (or refuses ours) is one error, not one per model."""
        response = self._request("POST", f"{self.base}/v2/{repo}/blobs/uploads/", repo, PUSH)
        if response.status_code == 202 and response.headers.get("location"):
            location = urljoin(self.base + "/", str(response.headers["location"]))
            self._request("DELETE", location, repo, PUSH)  # cancel the probe's upload
            return
        if response.status_code in (401, 403):
            raise self._auth_failed(response, f"pushing to {repo}")
        raise self._failed(response, f"starting an upload to {repo}")

    # --- manifests --------------------------------------------------------------------

    def manifest(self, repo: str, ref: str) -> FetchedManifest:
        """GET a manifest by tag or digest; by digest, its bytes are verified."""
        what = f"manifest {repo}:{ref}" if not ref.startswith("sha256:") else f"{repo}@{ref}"
        url = self._url(repo, "manifests", ref)
        response = self._request("GET", url, repo, PULL, headers={"Accept": MANIFEST_TYPES})
        if response.status_code != 200:
            raise self._failed(response, what)
        raw = response.content
        if ref.startswith("sha256:"):
            check_bytes(raw, ref, f"{self.host}/{repo}")
        media = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            doc: Any = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
            raise BadAnswer(
                f"registry {self.host} answered 200 for {what} with {body_kind(response)} "
                "that is not a manifest",
                host=self.host,
            )
        return FetchedManifest(raw, str(doc.get("mediaType") or media), sha256_digest(raw))

    def manifest_digest(self, repo: str, ref: str) -> str | None:
        """HEAD a manifest: its digest, or None when the registry has no such tag."""
        url = self._url(repo, "manifests", ref)
        response = self._request("HEAD", url, repo, PULL, headers={"Accept": MANIFEST_TYPES})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._failed(response, f"manifest {repo}:{ref}")
        said = response.headers.get("docker-content-digest")
        return str(said) if said else None

    def put_manifest(self, repo: str, ref: str, manifest: FetchedManifest) -> None:
        url = self._url(repo, "manifests", ref)
        headers = {"Content-Type": manifest.media_type}
        response = self._request("PUT", url, repo, PUSH, headers=headers, content=manifest.raw)
        if response.status_code not in (200, 201):
            raise self._failed(response, f"storing manifest {repo}:{ref}")
        said = response.headers.get("docker-content-digest")
        if said and said != manifest.digest:  # the registry changed our bytes
            raise BadAnswer(
                f"registry {self.host} stored {repo}:{ref} as {said}, not {manifest.digest}",
                host=self.host,
            )

    # --- blobs ------------------------------------------------------------------------

    def has_blob(self, repo: str, digest: str) -> bool:
        """HEAD: a redirect to the storage also means the registry holds it."""
        response = self._request("HEAD", self._url(repo, "blobs", digest), repo, PUSH)
        if response.status_code == 404:
            return False
        if response.status_code == 200 or response.is_redirect:
            return True
        raise self._failed(response, f"blob {digest} in {repo}")

    def blob(self, repo: str, digest: str) -> Iterator[bytes]:
        """The blob's bytes as they arrive (unverified: the copy engine verifies)."""
        url = self._url(repo, "blobs", digest)
        probe = self._request("HEAD", url, repo, PULL)  # meets a challenge before streaming
        if probe.status_code == 404:
            raise self._failed(probe, f"blob {digest} in {repo}")
        header = self._header(repo, PULL)
        headers = {"Authorization": header} if header else {}
        try:
            with self._http.stream("GET", url, headers=headers, follow_redirects=True) as r:
                if r.status_code != 200:
                    r.read()
                    raise self._failed(r, f"blob {digest} in {repo}")
                yield from r.iter_bytes(CHUNK)
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e

    def start_upload(self, repo: str, digest: str, mount_from: str | None = None) -> str | None:
        """POST an upload; None when the blob was mounted from another repository instead.

        Otherwise the upload's URL (the registry offers no mount, or the source lacked it)."""
        url = f"{self.base}/v2/{repo}/blobs/uploads/"
        params = {"mount": digest, "from": mount_from} if mount_from else None
        response = self._request("POST", url, repo, PUSH, params=params)
        if response.status_code == 201 and mount_from:
            return None
        location = response.headers.get("location")
        if response.status_code != 202 or not location:
            raise self._failed(response, f"starting an upload to {repo}")
        return urljoin(self.base + "/", str(location))

    def finish_upload(
        self, location: str, repo: str, digest: str, size: int, chunks: Iterable[bytes]
    ) -> None:
        """PUT the whole blob with ?digest= (one request: the registry commits it only
        when every byte arrived and hashes to digest)."""
        separator = "&" if "?" in location else "?"
        url = f"{location}{separator}digest={digest}"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if (header := self._header(repo, PUSH)) is not None:
            headers["Authorization"] = header
        try:
            response = self._http.put(url, headers=headers, content=iter(chunks))
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e
        if response.status_code not in (201, 204):
            raise self._failed(response, f"blob {digest} upload to {repo}")


def _error_text(response: httpx.Response) -> str:
    """The first error's code and message of a distribution error body, else its kind."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f"{first.get('code')}: {first.get('message')}"
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return body_kind(response)
