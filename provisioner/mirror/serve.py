"""`apply --from oci:PATH`: serve a layout to Ollama as a short-lived read-only registry.

For the time of one apply, each source registry the layout holds models of gets
its own loopback HTTP server (127.0.0.1, a free port) that answers the few
distribution-API reads a pull makes: GET /v2/, GET/HEAD manifests by tag or
digest, HEAD/GET blobs. The manifest's `mirrors` are replaced by these servers,
so a pull goes the way of a mirror: pull from the loopback name, copy to the
canonical name, delete the loopback tag. The server ends up with the manifest
bytes and blobs of the layout, under the names a connected pull gives.

Ollama fetches a blob by first GETting it and wants a 307 to *another host
name* (it reads the Location of the first answer from a different host), then
downloads ranges from there: a blob GET for 127.0.0.1:PORT is answered with a
307 to localhost:PORT, the same server, which then serves the bytes (ranges
included). Ollama checks every blob's sha256 after the download; a mismatch
fails the pull with no model written, and check_served() names the altered blob.

One server per source host keeps two registries' same-named models apart.
The Ollama server must reach 127.0.0.1 of this machine: it runs here.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from provisioner.errors import DigestMismatch
from provisioner.mirror.layout import Entry, Layout
from provisioner.names import Key
from provisioner.types.manifest import Mirror

_PATH = re.compile(r"^/v2/(?P<repo>[^/]+/[^/]+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
CHUNK = 1 << 20


@dataclass
class _Site:
    """What one loopback server serves: the models of one source registry."""

    layout: Layout
    models: dict[tuple[str, str], Entry]  # ("namespace/model", tag), lower case -> entry
    served: set[str] = field(default_factory=set)  # blob digests sent (to name a bad one)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def manifest(self, repo: str, ref: str) -> Entry | None:
        if _DIGEST.match(ref):
            return next(
                (e for (r, _), e in self.models.items() if r == repo and e.manifest.digest == ref),
                None,
            )
        return self.models.get((repo, ref.lower()))


class _Handler(BaseHTTPRequestHandler):
    site: _Site  # set on the per-server subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: the apply's own output is what the user reads

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _send(self, status: int, headers: Mapping[str, str], data: bytes = b"") -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, {"Content-Type": "application/json"}, body)

    def _answer(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            self._send(200, {"Content-Type": "application/json"}, b"{}")
            return
        m = _PATH.match(path)
        if m is None:
            self._error(404, "NAME_UNKNOWN", "not served here")
            return
        repo, kind, ref = m["repo"].lower(), m["kind"], m["ref"]
        if kind == "manifests":
            self._manifest(repo, ref)
        elif not _DIGEST.match(ref) or not self.site.layout.has_blob(ref):
            self._error(404, "BLOB_UNKNOWN", f"{ref} is not in {self.site.layout.where}")
        elif body and not self._is_redirected():
            # Ollama takes the blob's address from a redirect to another host name.
            port = self.server.server_port  # type: ignore[attr-defined]
            self._send(307, {"Location": f"http://localhost:{port}{path}"})
        else:
            self._blob(ref, body=body)

    def _is_redirected(self) -> bool:
        return (self.headers.get("Host") or "").split(":")[0].lower() == "localhost"

    def _manifest(self, repo: str, ref: str) -> None:
        entry = self.site.manifest(repo, ref)
        if entry is None:
            message = f"{repo}:{ref} is not in {self.site.layout.where}"
            self._error(404, "MANIFEST_UNKNOWN", message)
            return
        try:
            data = self.site.layout.read_blob(entry.manifest.digest, entry.manifest.size)
        except DigestMismatch as e:
            self._error(500, "MANIFEST_INVALID", str(e))
            return
        media = entry.manifest.media_type or "application/vnd.docker.distribution.manifest.v2+json"
        headers = {"Content-Type": media, "Docker-Content-Digest": entry.manifest.digest}
        self._send(200, headers, data)

    def _blob(self, digest: str, *, body: bool) -> None:
        path = self.site.layout.blob_path(digest)
        size = path.stat().st_size
        start, end = 0, size - 1
        wanted = _RANGE.match(self.headers.get("Range") or "")
        headers = {
            "Content-Type": "application/octet-stream",
            "Docker-Content-Digest": digest,
            "Accept-Ranges": "bytes",
        }
        status = 200
        if wanted is not None:
            start = int(wanted[1])
            end = min(int(wanted[2]), size - 1) if wanted[2] else size - 1
            if start >= size or start > end:
                self._send(416, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        self._send(status, headers)
        if not body:
            return
        with self.site.lock:
            self.site.served.add(digest)
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


@dataclass
class Served:
    """The loopback registries of one apply: a mirror for each source host."""

    layout: Layout
    mirrors: dict[str, Mirror]
    sites: list[_Site]

    def check_served(self) -> list[str]:
        """Digests of blobs sent whose bytes do not match them (an altered layout)."""
        bad = []
        for digest in sorted({d for s in self.sites for d in s.served}):
            try:
                for _ in self.layout.open_blob(digest):
                    pass
            except DigestMismatch:
                bad.append(digest)
        return bad


def _by_host(entries: Mapping[Key, Entry]) -> dict[str, dict[tuple[str, str], Entry]]:
    hosts: dict[str, dict[tuple[str, str], Entry]] = {}
    for entry in entries.values():
        n = entry.name
        repo = f"{n.namespace}/{n.model}".lower()
        hosts.setdefault(n.host.lower(), {})[(repo, n.tag.lower())] = entry
    return hosts


@contextmanager
def serve_layout(path: Path, hosts: Iterable[str] = ()) -> Iterator[Served]:
    """Serve the layout at `path` on loopback until the block ends: a server for each
    registry it holds models of, and for each of `hosts` (lower case; the manifest's
    registries, so that nothing is pulled from elsewhere: a model missing from the
    layout is a 404 naming it)."""
    layout = Layout.open(path)
    servers: list[ThreadingHTTPServer] = []
    mirrors: dict[str, Mirror] = {}
    sites: list[_Site] = []
    where = f"oci:{path}"
    by_host = _by_host(layout.entries())
    for host in hosts:
        by_host.setdefault(host, {})
    try:
        for host, models in by_host.items():
            site = _Site(layout, models)
            handler = type("Handler", (_Handler,), {"site": site})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            servers.append(server)
            sites.append(site)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            loopback = f"127.0.0.1:{server.server_address[1]}"
            mirrors[host] = Mirror(host, loopback, None, insecure=True, label=where)
        yield Served(layout, mirrors, sites)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
