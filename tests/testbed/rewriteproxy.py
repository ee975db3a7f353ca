"""A proxy in front of a real Ollama server that rewrites its answers into hostile ones.

Every request is forwarded to the real server first. For a path a test named
with `rewrite(path, mode)`, every answer to that path is then replaced by a
hostile version of the real one; every other path passes through unchanged
(status, headers, body as the server sent them, streamed as they come). It
never answers a request on Ollama's behalf without asking Ollama first.

Modes (the real answer is read in full, then):

- `drip`: the real status and body, one byte per second.
- `drip_head`: the real status line and headers one byte per half second, then the body
  (a deadline that starts only once the headers are in never ends the request).
- `endless`: the real body, then bytes without end (no newline, no close).
- `endless500`: 500 and an HTML page without end (an error answer must be read bounded).
- `same_progress`: a stream (/api/pull, /api/create) up to its first line with
  `completed`, then that line again and again, never moving.
- `malformed`: the real body cut in half (a Content-Length that matches the half).
- `null`: 200 with the body `null`.
- `html200`, `html401`, `html500`: that status with an HTML page.
- `empty200`: 200 with an empty body.
- `wrong_types`: the real JSON with fields of the wrong type (variants per path, below).
- `error200`: `{"error": "boom"}` with 200.
- `garbage`: bytes that are not HTTP at all, then the connection is closed.
- `huge_line`: 200 and one 50 MB line without a newline, then the close.
- `echo_auth`: 401 with an Ollama error that repeats the request's Authorization
  header, as a misconfigured proxy does (for the secrets tests).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

MODES = (
    "drip",
    "drip_head",
    "endless",
    "endless500",
    "same_progress",
    "malformed",
    "null",
    "html200",
    "empty200",
    "wrong_types",
    "error200",
    "html401",
    "html500",
    "garbage",
    "huge_line",
    "echo_auth",
)
STREAMS = ("/api/pull", "/api/create", "/api/push")
HUGE_LINE_BYTES = 50 << 20
PAGE_MARKER = "rewrite-proxy-hostile-page"  # never to be seen in a tool's output
# What another service on the port says: not a status line, then binary, then a blank line
# (so an HTTP parser has a whole "head" to reject, not just a short read).
GARBAGE = b"SSH-2.0-OpenSSH_9.6p1\r\n\x00\x00\x01\x14\x0a\x14\xde\xad\xbe\xef\xff\r\n\r\n"

_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "content-length",
    "content-encoding",
}
_REASONS = {200: "OK", 401: "Unauthorized", 500: "Internal Server Error"}


def html_page(status: int) -> bytes:
    """What a reverse proxy or a login wall in front of Ollama answers with."""
    title = f"{status} {_REASONS.get(status, '')}".strip()
    return (
        "<!DOCTYPE html>\n<html>\n<head><title>"
        f"{title}</title></head>\n<body>\n<center><h1>{title}</h1></center>\n"
        f"<hr><center>nginx</center>\n<!-- {PAGE_MARKER} -->\n</body>\n</html>\n"
    ).encode()


def _retype(line: dict[str, Any]) -> dict[str, Any]:
    """A stream line with each field of the wrong type ("success" is no longer a status)."""
    out: dict[str, Any] = dict(line)
    if "status" in out:
        out["status"] = [out["status"]]
    for key in ("total", "completed"):
        if key in out:
            out[key] = str(out[key])
    if "digest" in out:
        out["digest"] = {"sha256": out["digest"]}
    return out


def _models_retyped(body: dict[str, Any]) -> dict[str, Any]:
    models = body.get("models") or [{"name": "x"}]
    return {
        **body,
        "models": [{**m, "name": 5, "size": "big", "digest": 7} for m in models],
    }


# Per path, the variants of `wrong_types`: each turns the real (parsed) body into one
# that has the endpoint's fields, with the wrong types.
WRONG_TYPES: dict[str, tuple[Callable[[Any], Any], ...]] = {
    "/api/version": (
        lambda body: body.get("version", "0.0.0"),  # a bare JSON string, not an object
        lambda body: {**body, "version": 5},
    ),
    "/api/tags": (
        lambda body: {**body, "models": "x"},
        _models_retyped,
    ),
    "/api/ps": (
        lambda body: {**body, "models": "x"},
        _models_retyped,
    ),
    "/api/show": (
        lambda body: {**body, "capabilities": "completion", "details": ["gguf"]},
        lambda body: {**body, "modelfile": 5, "parameters": {"stop": 1}, "template": None},
    ),
}


@dataclass(frozen=True)
class Rewrite:
    mode: str
    variant: int = 0


class RewriteProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrites: dict[str, Rewrite] = {}
        self.seen: Counter[str] = Counter()  # requests per path
        self.rewritten: Counter[str] = Counter()  # of those, answered with a rewrite
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Port 0: the kernel picks a free port at bind time (no window for another to take it).
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RewriteProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def rewrite(self, path: str, mode: str, variant: int = 0) -> None:
        """Answer every request to `path` from now on with `mode` applied to the real answer."""
        if mode not in MODES:
            raise ValueError(f"unknown rewrite mode {mode!r}; one of {', '.join(MODES)}")
        if mode == "same_progress" and path not in STREAMS:
            raise ValueError(f"same_progress needs a progress stream, not {path}")
        variants = len(WRONG_TYPES.get(path, ()))
        if mode == "wrong_types" and path not in STREAMS and variant >= variants:
            raise ValueError(f"no wrong_types variant {variant} for {path}")
        self.rewrites[path] = Rewrite(mode, variant)

    def _take(self, path: str) -> Rewrite | None:
        with self._lock:
            self.seen[path] += 1
            found = self.rewrites.get(path)
            if found is not None:
                self.rewritten[path] += 1
            return found

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        stop = self._stop

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; the end is the close

            def log_message(self, format: str, *args: object) -> None:
                return

            def _request_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self) -> None:
                try:
                    self._answer()
                except OSError:
                    return  # the tool hung up (it gave up, or was killed): nothing to do

            def _answer(self) -> None:
                path = urlsplit(self.path).path
                body = self._request_body()
                rewrite = proxy._take(path)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}
                }
                with (
                    httpx.Client(timeout=None) as client,
                    client.stream(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    ) as answer,
                ):
                    if rewrite is None:
                        self._head(answer.status_code, self._kept(answer))
                        if self.command != "HEAD":
                            for chunk in answer.iter_bytes():
                                self.wfile.write(chunk)
                                self.wfile.flush()
                        return
                    real = answer.read()  # the whole real answer (a pull runs to its end)
                    status, kept = answer.status_code, self._kept(answer)
                self._hostile(path, rewrite, status, kept, real)

            @staticmethod
            def _kept(answer: httpx.Response) -> list[tuple[str, str]]:
                return [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _HOP]

            def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()

            def _send(self, status: int, ctype: str, payload: bytes, **extra: str) -> None:
                headers = [("Content-Type", ctype), ("Content-Length", str(len(payload)))]
                self._head(status, headers + list(extra.items()))
                self.wfile.write(payload)

            def _hostile(
                self,
                path: str,
                rewrite: Rewrite,
                status: int,
                kept: list[tuple[str, str]],
                real: bytes,
            ) -> None:
                json_type = "application/x-ndjson" if path in STREAMS else "application/json"
                newline = b"\n" if path in STREAMS else b""
                match rewrite.mode:
                    case "drip":
                        self._head(status, [*kept, ("Content-Length", str(len(real)))])
                        for i in range(len(real)):
                            self.wfile.write(real[i : i + 1])
                            self.wfile.flush()
                            if stop.wait(1.0):
                                return
                    case "drip_head":
                        fields = [*kept, ("Content-Length", str(len(real)))]
                        head = f"HTTP/1.0 {status} {HTTPStatus(status).phrase}\r\n" + "".join(
                            f"{k}: {v}\r\n" for k, v in fields
                        )
                        for byte in (head + "\r\n").encode():
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            if stop.wait(0.5):
                                return
                        self.wfile.write(real)
                    case "endless":
                        self._head(status, kept)
                        self.wfile.write(real)
                        filler = b"x" * 65536
                        while not stop.is_set():
                            self.wfile.write(filler)
                    case "endless500":
                        self._head(500, [("Content-Type", "text/html")])
                        self.wfile.write(b"<html><body>")
                        filler = b"<p>overloaded</p>" * 4096
                        while not stop.is_set():
                            self.wfile.write(filler)
                    case "same_progress":
                        self._head(status, kept)
                        lines = real.splitlines(keepends=True) or [b'{"status":"pulling"}\n']
                        first = next((i for i, x in enumerate(lines) if b'"completed"' in x), 0)
                        for line in lines[: first + 1]:
                            self.wfile.write(line)
                        while not stop.wait(0.05):
                            self.wfile.write(lines[first])
                            self.wfile.flush()
                    case "malformed":
                        half = real[: len(real) // 2]
                        self._head(status, [*kept, ("Content-Length", str(len(half)))])
                        self.wfile.write(half)
                    case "null":
                        self._send(200, json_type, b"null" + newline)
                    case "empty200":
                        self._send(200, json_type, b"")
                    case "error200":
                        self._send(200, json_type, b'{"error":"boom"}' + newline)
                    case "html200" | "html401" | "html500":
                        code = int(rewrite.mode.removeprefix("html"))
                        extra = {"WWW-Authenticate": 'Basic realm="ollama"'} if code == 401 else {}
                        self._send(code, "text/html; charset=utf-8", html_page(code), **extra)
                    case "wrong_types":
                        self._send(200, json_type, self._retyped(path, rewrite.variant, real))
                    case "garbage":
                        self.wfile.write(GARBAGE)
                        self.wfile.flush()
                        self.close_connection = True
                    case "echo_auth":
                        said = f"unauthorized: bad credentials {self.headers.get('Authorization')}"
                        payload = json.dumps({"error": said}).encode() + newline
                        self._send(401, "application/json", payload)
                    case "huge_line":
                        self._head(200, [("Content-Type", json_type)])
                        self.wfile.write(b'{"status":"')
                        block = b"x" * (1 << 20)
                        for _ in range(HUGE_LINE_BYTES >> 20):
                            if stop.is_set():
                                return
                            self.wfile.write(block)

            @staticmethod
            def _retyped(path: str, variant: int, real: bytes) -> bytes:
                if path in STREAMS:
                    lines = [json.loads(x) for x in real.splitlines() if x.strip()]
                    return b"".join(json.dumps(_retype(x)).encode() + b"\n" for x in lines)
                return json.dumps(WRONG_TYPES[path][variant](json.loads(real))).encode()

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _forward

        return Handler
