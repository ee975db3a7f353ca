"""The retry policy: attempts, events, and tenacity loaded only when a retry happens."""

import subprocess
import sys

import pytest

from provisioner.errors import BadRequest, ServerFailure
from provisioner.server.retry import RetryEvent, RetryPolicy, with_retry

FAST = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.004)


def test_every_retry_is_reported_and_the_last_failure_counts_attempts() -> None:
    events: list[RetryEvent] = []
    calls = 0

    def always_500() -> None:
        nonlocal calls
        calls += 1
        raise ServerFailure("boom", status=500)

    with pytest.raises(ServerFailure) as err:
        with_retry(always_500, FAST, events.append, "tiny:latest")
    assert calls == 4 and err.value.attempts == 4
    assert str(err.value) == "boom (gave up after 4 attempts)"
    assert [(e.attempt, e.attempts, e.reason, e.model) for e in events] == [
        (1, 4, "HTTP 500", "tiny:latest"),
        (2, 4, "HTTP 500", "tiny:latest"),
        (3, 4, "HTTP 500", "tiny:latest"),
    ]


def test_a_refusal_is_not_retried_and_a_success_after_a_failure_returns() -> None:
    events: list[RetryEvent] = []
    with pytest.raises(BadRequest) as err:
        with_retry(lambda: (_ for _ in ()).throw(BadRequest("no")), FAST, events.append)
    assert err.value.attempts == 1 and events == []
    failures = [ServerFailure("once", status=503)]

    def flaky() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    assert with_retry(flaky, FAST, events.append) == "ok" and len(events) == 1


def test_a_request_that_succeeds_first_time_never_imports_tenacity() -> None:
    code = (
        "import sys; from provisioner.server.retry import with_retry, DEFAULT_RETRY;"
        "with_retry(lambda: 1, DEFAULT_RETRY); print('tenacity' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
