"""Sizes and times for people: one unit style everywhere."""

from __future__ import annotations

import re
from datetime import datetime, timezone


def human_size(n: float) -> str:
    """Bytes in decimal units, as Ollama's CLI shows them (472.5 KB, 1.2 GB)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


_RFC3339 = re.compile(
    r"(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)"
)


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time as Ollama writes it (nanoseconds, any zone), zone-aware."""
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        return None
    zone = "+00:00" if m["zone"] == "Z" else m["zone"]
    frac = (m["frac"] or "0")[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{m['base']}.{frac}{zone}")
    except ValueError:
        return None


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"


def relative(text: str, now: datetime | None = None) -> str:
    """`in 9m`, `3d ago`, `never` (keep_alive -1), or the text with its zone kept when
    it cannot be read: never a time without its zone."""
    when = parse_time(text)
    if when is None:
        return text or "-"
    delta = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if delta > 100 * 365 * 86400:
        return "never"
    if delta >= 0:
        return f"in {_span(delta)}"
    return f"{_span(-delta)} ago"
