"""A fault-injecting HTTP proxy in front of a real Ollama server.

It forwards every request to the real server and streams the answer back
line by line, except where a test has asked for a fault on the next
request(s) to a path: an HTTP error status, a connection reset, or a stall
(forward a few lines, then hold the connection open without sending more).
It never answers on Ollama's behalf otherwise.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

from tests.testbed.ports import free_port

_HOP = {"connection", "transfer-encoding", "keep-alive", "content-length", "content-encoding"}


@dataclass
class Faults:
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    resets: Counter[str] = field(default_factory=Counter)
    stalls: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str) -> tuple[str, int] | None:
        """The fault for this request, if one is queued for its path."""
        with self.lock:
            self.seen[path] += 1
            if self.statuses[path]:
                return ("status", self.statuses[path].pop(0))
            if self.resets[path] > 0:
                self.resets[path] -= 1
                return ("reset", 0)
            if self.stalls[path]:
                return ("stall", self.stalls[path].pop(0))
        return None


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = Faults()
        self.port = free_port()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, path: str, *statuses: int) -> None:
        self.faults.statuses[path].extend(statuses)

    def reset(self, path: str, times: int = 1) -> None:
        self.faults.resets[path] += times

    def stall(self, path: str, after_lines: int = 3) -> None:
        self.faults.stalls[path].append(after_lines)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; the end is the close

            def log_message(self, format: str, *args: object) -> None:
                return

            def _forward(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.faults.take(path)
                if fault and fault[0] == "status":
                    payload = json.dumps({"error": f"injected {fault[1]}"}).encode()
                    self.send_response(fault[1])
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault and fault[0] == "reset":
                    self.connection.close()
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}
                }
                with (
                    httpx.Client(timeout=None) as client,
                    client.stream(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    ) as answer,
                ):
                    self.send_response(answer.status_code)
                    for k, v in answer.headers.items():
                        if k.lower() not in _HOP:
                            self.send_header(k, v)
                    self.end_headers()
                    for n, line in enumerate(answer.iter_lines()):
                        if fault and fault[0] == "stall" and n >= fault[1]:
                            proxy._stop.wait(600)  # hold the connection, send nothing
                            return
                        self.wfile.write(line.encode() + b"\n")
                        self.wfile.flush()

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def do_HEAD(self) -> None:
                self._forward()

        return Handler
