"""Durations as Ollama and Go read them (api.Duration, time.ParseDuration)."""

from __future__ import annotations

import pytest

from provisioner.errors import InvalidDuration
from provisioner.manifest.durations import keep_alive_value, parse_go_duration, timeout_seconds

S = 1_000_000_000
HELP = "use ns, us, ms, s, m or h, e.g. 30s or 1h30m"
YEARS = "(at most about 292 years)"


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("-0", 0),
        ("5m", 300 * S),
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        (".5s", S // 2),
        ("5.s", 5 * S),
        ("+2s", 2 * S),
        ("-1m", -60 * S),
        ("300ms", 300_000_000),
        ("1us", 1_000),
        ("1\u00b5s", 1_000),
        ("1\u03bcs", 1_000),
        ("1h2m3s4ms5us6ns", 3723 * S + 4_005_006),
        ("2562047h47m16.854775807s", 2**63 - 1),
    ],
)
def test_go_durations(text: str, nanoseconds: int) -> None:
    assert parse_go_duration(text) == nanoseconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "'' is not a duration; use ns, us, ms, s, m or h, e.g. 30s or 1h30m"),
        ("+", "'+' is not a duration; use ns, us, ms, s, m or h, e.g. 30s or 1h30m"),
        (".s", "'.s' is not a duration; use ns, us, ms, s, m or h, e.g. 30s or 1h30m"),
        ("300", "'300' has no unit; write 300s, or a number without quotes"),
        ("-1", "'-1' has no unit; write -1s, or a number without quotes"),
        ("1h30", "'1h30' is missing a unit after '30'; " + HELP),
        ("5M", "unknown unit 'M' in '5M'; use ns, us, ms, s, m or h, e.g. 30s or 1h30m"),
        ("5 m", "unknown unit ' m' in '5 m'; use ns, us, ms, s, m or h, e.g. 30s or 1h30m"),
        ("2562047h47m16.854775808s", "'2562047h47m16.854775808s' is too long " + YEARS),
    ],
)  # fmt: skip
def test_invalid_go_durations(text: str, message: str) -> None:
    with pytest.raises(InvalidDuration) as e:
        parse_go_duration(text)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (300, 300),
        (0, 0),
        (300.0, 300),
        (1.5, "1500ms"),
        (1e-10, 0),
        (-1, -1),
        (-0.5, -1),
        (-1e300, -1),
        ("5m", "5m"),
        ("-3h", -1),
        ("0", "0"),
    ],
)
def test_keep_alive_is_what_the_api_accepts(value: object, sent: int | str) -> None:
    assert keep_alive_value(value) == sent


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a number of seconds or a duration such as 5m"),
        (None, "must be a number of seconds or a duration such as 5m"),
        (float("nan"), "must be a finite number of seconds"),
        (float("inf"), "must be a finite number of seconds"),
        (1e300, "1e+300 seconds is too long (at most about 292 years)"),
        (10**30, f"{10**30} seconds is too long (at most about 292 years)"),
    ],
)
def test_invalid_keep_alive(value: object, message: str) -> None:
    with pytest.raises(InvalidDuration) as e:
        keep_alive_value(value)
    assert str(e.value) == message


@pytest.mark.parametrize(("value", "seconds"), [(30, 30.0), (0.5, 0.5), ("1m30s", 90.0)])
def test_timeouts(value: object, seconds: float) -> None:
    assert timeout_seconds(value) == seconds


@pytest.mark.parametrize("value", [0, -1, "0s", "-5m"])
def test_timeouts_must_be_positive(value: object) -> None:
    with pytest.raises(InvalidDuration) as e:
        timeout_seconds(value)
    assert str(e.value) == "must be more than zero, e.g. 30s or 5m (there is no 'forever')"
