"""Error classification and the stream reader, without a server."""

from collections.abc import Iterator

import httpx
import pytest

from provisioner.errors import (
    BadRequest,
    DiskFull,
    HostNotFound,
    NotFound,
    ServerError,
    ServerFailure,
    Timeout,
    VersionTooOld,
)
from provisioner.server.client import Client
from provisioner.server.failures import error_for_response, error_for_status, error_for_stream
from provisioner.types.wire import Progress


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequest),
        (403, BadRequest),
        (404, NotFound),
        (412, VersionTooOld),
        (429, ServerFailure),
        (500, ServerFailure),
        (503, ServerFailure),
    ],
)
def test_status_mapping(status: int, kind: type[ServerError]) -> None:
    err = error_for_status(status, "msg", "tiny", "http://h")
    assert type(err) is kind
    assert str(err) == "tiny: msg"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("pull model manifest: file does not exist", NotFound),
        ("pull model manifest: 412: requires a newer version of Ollama", VersionTooOld),
        ("pull model manifest: 401: unauthorized: access denied", BadRequest),
        ("max retries exceeded: unexpected EOF", ServerFailure),
    ],
)
def test_stream_error_mapping(message: str, kind: type[ServerError]) -> None:
    assert type(error_for_stream(message, "m", "http://h")) is kind


def test_stream_status_field_wins() -> None:
    assert type(error_for_stream("weird", "m", "h", 400)) is BadRequest


def _client() -> Client:
    return Client("http://127.0.0.1:9", stall_timeout=0.05)


def test_error_line_fails_even_if_success_follows() -> None:
    lines = iter(['{"status":"pulling"}', '{"error":"boom"}', '{"status":"success"}'])
    with pytest.raises(ServerFailure, match="boom"):
        _client()._consume(lines, "m", None)


def test_stream_without_success_is_a_failure() -> None:
    with pytest.raises(ServerFailure, match="before success"):
        _client()._consume(iter(['{"status":"pulling manifest"}']), "m", None)


def test_stream_with_no_progress_is_a_stall() -> None:
    import time

    def lines() -> Iterator[str]:
        for _ in range(5):
            time.sleep(0.03)
            yield '{"status":"pulling x","digest":"d","completed":1,"total":9}'

    with pytest.raises(Timeout, match="no progress"):
        _client()._consume(lines(), "m", None)


def test_progress_events_are_typed() -> None:
    seen: list[Progress] = []
    lines = iter(
        [
            '{"status":"pulling a","digest":"sha256:a","total":10,"completed":5}',
            '{"status":"success"}',
        ]
    )
    _client()._consume(lines, "m", seen.append)
    assert seen[0].total == 10 and seen[0].completed == 5 and seen[0].digest == "sha256:a"
    assert seen[-1].status == "success"


@pytest.mark.parametrize(
    ("message", "kind", "said"),
    [
        (
            "dial tcp 127.0.0.1:41299: connect: connection refused",
            ServerFailure,
            "dial tcp 127.0.0.1:41299: connect: connection refused",
        ),
        (
            "digest mismatch, expected sha256:4128aa, got sha256:ff",
            ServerFailure,
            "digest mismatch, expected sha256:4128aa, got sha256:ff",
        ),
        (
            "pull model manifest: Get https://reg.example/v2/: dial tcp: "
            "lookup reg.example on 10.0.0.53:53: no such host",
            HostNotFound,
            "cannot resolve the registry host reg.example (no such host): "
            "check the host in the model's name and this machine's DNS",
        ),
        (
            "write /models/blobs/sha256-ab-partial-0: no space left on device",
            DiskFull,
            "the server's disk is full (write /models/blobs/sha256-ab-partial-0: no space left "
            "on device): free space where it keeps models (OLLAMA_MODELS) or remove models it "
            "no longer needs, then rerun",
        ),
        (
            "pull model manifest: file does not exist",
            NotFound,
            "the registry has no such model or tag (pull model manifest: file does not exist)",
        ),
        (
            'Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
            BadRequest,
            "the registry speaks plain http, not https (server gave HTTP response to HTTPS "
            "client): set insecure: true",
        ),
    ],
)
def test_only_ollamas_own_words_mean_version_skew(
    message: str, kind: type[ServerError], said: str
) -> None:
    err = error_for_stream(message, None, "http://h")
    assert (type(err), err.message) == (kind, said)


def _answer(status: int, body: bytes, content_type: str, method: str = "GET") -> httpx.Response:
    request = httpx.Request(method, "http://h/api/version")
    return httpx.Response(
        status, content=body, headers={"content-type": content_type}, request=request
    )


@pytest.mark.parametrize(
    ("answer", "kind", "said"),
    [
        (
            _answer(404, b"<html><body>nope</body></html>", "text/html"),
            BadRequest,
            "http://h answered 404 Not Found (an HTML page): is this an Ollama server?",
        ),
        (
            _answer(401, b"", "text/plain"),
            BadRequest,
            "http://h answered 401 Unauthorized (an empty body): check server.headers for the "
            "credentials a proxy in front of Ollama expects",
        ),
        (
            _answer(502, b"<html>bad gateway</html>", "text/html"),
            ServerFailure,
            "http://h answered 502 Bad Gateway (an HTML page): the server, or a proxy in front "
            "of it, failed",
        ),
        (_answer(404, b"", "", method="HEAD"), NotFound, "404 Not Found"),
        (
            _answer(404, b'{"error":"model \\"x\\" not found"}', "application/json"),
            NotFound,
            'model "x" not found',
        ),
    ],
)
def test_answers_that_are_not_ollamas_name_host_status_and_a_hint(
    answer: httpx.Response, kind: type[ServerError], said: str
) -> None:
    err = error_for_response(answer, None, "http://h")
    assert (type(err), err.message) == (kind, said)
    assert "<html" not in str(err)
