"""Error classification and the stream reader, without a server."""

import pytest

from provisioner.errors import (
    BadRequest,
    NotFound,
    ServerError,
    ServerFailure,
    Timeout,
    VersionTooOld,
)
from provisioner.server.client import Client, error_for_status, error_for_stream


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

    def lines():  # type: ignore[no-untyped-def]
        for _ in range(5):
            time.sleep(0.03)
            yield '{"status":"pulling x","digest":"d","completed":1,"total":9}'

    with pytest.raises(Timeout, match="no progress"):
        _client()._consume(lines(), "m", None)


def test_progress_events_are_typed() -> None:
    seen = []
    lines = iter(
        [
            '{"status":"pulling a","digest":"sha256:a","total":10,"completed":5}',
            '{"status":"success"}',
        ]
    )
    _client()._consume(lines, "m", seen.append)
    assert seen[0].total == 10 and seen[0].completed == 5 and seen[0].digest == "sha256:a"
    assert seen[-1].status == "success"
