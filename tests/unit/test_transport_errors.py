"""The one map from httpx's transport errors onto errors.py (server/failures.py)."""

from __future__ import annotations

import httpx
import pytest

from provisioner.errors import ConnectionFailed, HostNotFound, ServerError, Timeout
from provisioner.server.failures import Wording, transport_error
from provisioner.server.registry import registry_wording

WORDS = Wording(timeout="slow", unresolved="no such host", refused="refused", broken="broke: {exc}")


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (httpx.ReadTimeout("read"), Timeout, "slow"),
        (httpx.ConnectTimeout("connect"), Timeout, "slow"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), HostNotFound, "no such host"),
        (httpx.ConnectError("[Errno 111] Connection refused"), ConnectionFailed, "refused"),
        (httpx.RemoteProtocolError("peer closed"), ConnectionFailed, "broke: peer closed"),
        (httpx.ReadError("reset"), ConnectionFailed, "broke: reset"),
    ],
)
def test_each_transport_failure_gets_one_error_class(
    exc: httpx.HTTPError, kind: type[ServerError], text: str
) -> None:
    error = transport_error(exc, WORDS, host="h:1", model="tiny")
    assert type(error) is kind
    assert (error.message, error.model, error.host) == (text, "tiny", "h:1")


def test_the_registry_and_the_mirror_word_a_failure_alike() -> None:
    words = registry_wording("reg:5000", "check DNS", " (plain http needs insecure)")
    error = transport_error(httpx.ConnectError("refused"), words, host="reg:5000")
    assert error.message == "cannot reach registry reg:5000: refused (plain http needs insecure)"
    unresolved = transport_error(httpx.ConnectError("getaddrinfo failed"), words, host="reg")
    assert (
        unresolved.message == "cannot resolve the registry host reg:5000 (no such host): check DNS"
    )
