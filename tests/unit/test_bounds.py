"""The thread's deadline cuts each socket operation's timeout (server/bounds.py)."""

import threading
import time

import httpcore
import pytest

from provisioner.server.bounds import _left, within


def test_outside_a_deadline_the_timeout_is_httpx_s_own() -> None:
    assert _left(5.0, httpcore.ReadTimeout) == 5.0
    assert _left(None, httpcore.ReadTimeout) is None


def test_inside_a_deadline_each_operation_gets_what_is_left_of_it() -> None:
    with within(1.0):
        assert 0.9 < (_left(None, httpcore.ReadTimeout) or 0) <= 1.0
        assert _left(0.2, httpcore.ReadTimeout) == 0.2  # a shorter timeout still holds
        with within(0.1):  # nested: the inner one, then the outer one again
            assert (_left(None, httpcore.ReadTimeout) or 1) <= 0.1
        assert (_left(None, httpcore.ReadTimeout) or 0) > 0.5
    assert _left(None, httpcore.ReadTimeout) is None


def test_past_the_deadline_the_operation_fails_as_a_timeout() -> None:
    with within(0.01):
        time.sleep(0.02)
        with pytest.raises(httpcore.ConnectTimeout):
            _left(10.0, httpcore.ConnectTimeout)


def test_the_deadline_is_the_calling_thread_s_only() -> None:
    seen: list[float | None] = []
    with within(0.5):
        other = threading.Thread(target=lambda: seen.append(_left(None, httpcore.ReadTimeout)))
        other.start()
        other.join()
    assert seen == [None]
