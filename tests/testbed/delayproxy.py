"""A pass-through HTTP proxy that adds a fixed delay to every answer.

It stands in front of the real registry's API host to make it cost what a
remote registry costs (a round trip of tens of milliseconds): every request is
forwarded unchanged to the registry, and its answer, status, headers and body
unchanged, is sent back after `delay` seconds. Redirects are passed on, not
followed, so Ollama still fetches blob bytes from nginx on the other host name
(see registry.py); only the registry's own answers are delayed. HTTP/1.1 with
keep-alive on both sides, as a real registry would serve it.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.testbed.ports import free_port

_HOP = {"connection", "transfer-encoding", "keep-alive", "proxy-connection", "upgrade", "te"}


class DelayProxy:
    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.port = free_port()
        self.requests = 0  # answered so far
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=None, follow_redirects=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        """host:port, the registry host part of model names pulled through the proxy."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> DelayProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _body(self) -> bytes:
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
                body = self._body()
                headers = [
                    (k, v) for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}
                ]
                if self.headers.get("Transfer-Encoding"):
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                request = proxy._client.build_request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body
                )
                answer = proxy._client.send(request, stream=True)
                try:
                    payload = b"".join(answer.iter_raw())  # as sent: no decoding
                finally:
                    answer.close()
                time.sleep(proxy.delay)
                self.send_response(answer.status_code)
                for k, v in answer.headers.multi_items():
                    if k.lower() not in _HOP | {"content-length"}:
                        self.send_header(k, v)
                if self.command == "HEAD":
                    length = answer.headers.get("Content-Length")
                    if length is not None:
                        self.send_header("Content-Length", length)
                else:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                with proxy._lock:
                    proxy.requests += 1

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
