"""Progress for people: plain, throttled lines (readable in CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from .client import Progress


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class PlainProgress:
    """Prints a line when a model's status changes, and at most every `interval` seconds."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 2.0) -> None:
        self._stream = stream
        self._interval = interval
        self._last: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        with self._lock:
            status, at = self._last.get(event.model, ("", 0.0))
            if event.status == status and now - at < self._interval:
                return
            self._last[event.model] = (event.status, now)
            line = f"  {event.model}: {event.status}"
            if event.total:
                done = event.completed or 0
                line += f" {100 * done / event.total:.0f}% ({_size(done)}/{_size(event.total)})"
            print(line, file=self._stream, flush=True)
