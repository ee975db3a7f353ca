"""The one retry policy for every request, to Ollama and to registries alike.

Connection failures, timeouts, 5xx and 429 are retried with exponential
backoff plus jitter, bounded in attempts and total time; 4xx, a host name
that does not resolve and an answer that is not what the endpoint gives are
not. Each retry is reported as it happens (RetryEvent), and a final failure
carries how many attempts were made.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from provisioner.errors import ConnectionFailed, ServerError, ServerFailure, Timeout

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    total_seconds: float = 300.0
    initial_wait: float = 0.5
    max_wait: float = 10.0


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class RetryEvent:
    """A request failed and will be tried again."""

    model: str | None
    attempt: int  # the attempt that failed
    attempts: int  # the most the policy makes
    reason: str  # "HTTP 500", "stalled 60s", "connection failed"
    wait: float  # seconds before the next attempt


RetryCallback = Callable[[RetryEvent], None]


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionFailed, ServerFailure))


def why(exc: BaseException | None) -> str:
    if isinstance(exc, Timeout) and exc.stalled is not None:
        return f"stalled {exc.stalled:.0f}s"
    if isinstance(exc, ServerError) and exc.status is not None:
        return f"HTTP {exc.status}"
    if isinstance(exc, Timeout):
        return "no answer in time"
    if isinstance(exc, ConnectionFailed):
        return "connection failed"
    return "an error in the stream"


def with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    on_retry: RetryCallback | None = None,
    model: str | None = None,
) -> T:
    """Call fn under the policy; the error that ends it says how many attempts were made.

    The first attempt runs on its own: tenacity (~65 ms to import) is loaded only
    when something has to be retried.
    """
    started = time.monotonic()
    try:
        return fn()
    except Exception as e:
        if policy.attempts <= 1 or not retryable(e):
            raise
        first = e
    import tenacity

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is None or state.outcome is None:
            return
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = why(state.outcome.exception())
        on_retry(RetryEvent(model, state.attempt_number + 1, policy.attempts, reason, wait))

    def backoff(state: tenacity.RetryCallState) -> float:
        # After overall attempt n: initial * 2^(n-1), capped, plus jitter so a fleet
        # does not retry in lockstep (tenacity's attempt k is overall attempt k + 1).
        return _pause(policy, state.attempt_number + 1)

    pause = _pause(policy, 1)
    if on_retry is not None:
        on_retry(RetryEvent(model, 1, policy.attempts, why(first), pause))
    time.sleep(pause)
    left = max(0.0, policy.total_seconds - (time.monotonic() - started))
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retryable),
        stop=tenacity.stop_after_attempt(policy.attempts - 1) | tenacity.stop_after_delay(left),
        wait=backoff,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except ServerError as e:
        e.attempts = int(retrying.statistics.get("attempt_number", 1)) + 1
        raise


def _pause(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after a failed attempt (1-based)."""
    wait: float = min(policy.max_wait, policy.initial_wait * 2.0 ** (attempt - 1))
    return wait + random.uniform(0, policy.initial_wait)
