"""Durations as Ollama reads them: numbers of seconds, or Go duration strings.

`keep_alive` goes to the API as it is accepted there (api.Duration): a JSON
number of seconds, or a string for Go's time.ParseDuration ("5m", "1h30m",
"300ms"); anything negative means "keep loaded forever" and is sent as -1.
`timeout` is our own client's limit per request, in seconds, always positive.
"""

from __future__ import annotations

import math
import re

from provisioner.errors import InvalidDuration

FOREVER = -1
_MAX_NANOSECONDS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds

# Go's unitMap (time/format.go), in nanoseconds.
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")
_UNIT_HELP = "use ns, us, ms, s, m or h, e.g. 30s or 1h30m"


def parse_go_duration(text: str) -> int:
    """Nanoseconds for a Go duration string, following time.ParseDuration exactly."""
    s = text
    negative = s.startswith("-")
    if s.startswith(("-", "+")):
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise InvalidDuration(f"{text!r} is not a duration; {_UNIT_HELP}")
    total = 0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        assert m is not None  # the pattern matches the empty string
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise InvalidDuration(f"{text!r} is not a duration; {_UNIT_HELP}")
        if not unit:
            if _NUMBER_TEXT.fullmatch(text):
                raise InvalidDuration(
                    f"{text!r} has no unit; write {text.lstrip('+')}s, or a number without quotes"
                )
            raise InvalidDuration(f"{text!r} is missing a unit after {m.group(0)!r}; {_UNIT_HELP}")
        if unit not in _UNITS:
            raise InvalidDuration(f"unknown unit {unit!r} in {text!r}; {_UNIT_HELP}")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NANOSECONDS:
            raise InvalidDuration(f"{text!r} is too long (at most about 292 years)")
        pos = m.end()
    return -total if negative else total


def _number_nanoseconds(value: float) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidDuration("must be a finite number of seconds")
    scaled = value * 1_000_000_000
    if abs(scaled) > _MAX_NANOSECONDS:
        raise InvalidDuration(f"{value} seconds is too long (at most about 292 years)")
    return round(scaled)


def keep_alive_value(value: object) -> int | str:
    """The form the API accepts: int seconds, a Go duration string, or -1 (forever).

    Raises InvalidDuration for anything Ollama would refuse.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidDuration("must be a number of seconds or a duration such as 5m")
    if isinstance(value, str):
        if parse_go_duration(value) < 0:
            return FOREVER
        return value
    if value < 0 and math.isfinite(value):
        return FOREVER
    ns = _number_nanoseconds(value)
    if ns % 1_000_000_000 == 0:
        return ns // 1_000_000_000
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    return f"{ns}ns"


def timeout_seconds(value: object) -> float:
    """Seconds for a request timeout: a positive number or Go duration string."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidDuration("must be a number of seconds or a duration such as 30s")
    ns = parse_go_duration(value) if isinstance(value, str) else _number_nanoseconds(value)
    if ns <= 0:
        raise InvalidDuration("must be more than zero, e.g. 30s or 5m (there is no 'forever')")
    return ns / 1_000_000_000
