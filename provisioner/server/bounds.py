"""Every plain request bounded in time (connect, headers and body together) and in size.

httpx's timeouts are per operation: a server that sends one byte of its headers every
half second never trips them. So the sockets httpx opens go through a network backend
that cuts each connect, read and write to what is left of the calling thread's
deadline (`within`); past it, the operation fails as httpx's own timeout would. A
thread-local deadline because one client serves parallel pulls and shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

SMALL_ANSWER_BYTES = 4 << 20  # a registry manifest or token answer is a few KB

_deadline = threading.local()


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Requests this thread makes inside the block end `seconds` from now at the latest."""
    outer = getattr(_deadline, "at", None)
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = outer


def _left(timeout: float | None, late: type[Exception]) -> float | None:
    at: float | None = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise late("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def transport(*, limits: httpx.Limits | None = None) -> httpx.HTTPTransport:
    """An httpx transport whose sockets keep the calling thread's deadline."""
    made = httpx.HTTPTransport(limits=limits or httpx.Limits())
    # httpx takes no network backend; its httpcore pool does, and reads it per connection.
    made._pool._network_backend = _Backend()
    return made


def read_bounded(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    seconds: float,
    limit: int,
    too_large: Callable[[], Exception],
    **request: Any,
) -> httpx.Response:
    """One request answered in full within `seconds` from the first byte sent to the
    last byte read, and within `limit` bytes (else `too_large()` is raised). The client
    must use `transport()`; past the deadline httpx raises its TimeoutException."""
    with within(seconds), client.stream(method, url, timeout=seconds, **request) as streamed:
        chunks: list[bytes] = []
        size = 0
        for chunk in streamed.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
    return _answer(streamed, b"".join(chunks))


def head_of(streamed: httpx.Response, limit: int) -> httpx.Response:
    """A streamed answer with at most `limit` bytes of its body read: an error answer's
    first bytes say what went wrong, and an endless one must not fill the memory."""
    chunks: list[bytes] = []
    size = 0
    for chunk in streamed.iter_bytes():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return _answer(streamed, b"".join(chunks))


def _answer(streamed: httpx.Response, content: bytes) -> httpx.Response:
    # The body is decoded already: drop the headers that describe the wire form.
    headers = [
        (k, v)
        for k, v in streamed.headers.multi_items()
        if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")
    ]
    return httpx.Response(
        streamed.status_code,
        headers=headers,
        content=content,
        request=streamed.request,
        extensions={"reason_phrase": streamed.reason_phrase.encode()},
    )
