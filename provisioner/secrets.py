"""Values that must never be printed: every configured header value.

The manifest loader registers them; everything the CLI writes passes through
`mask`: its standard streams inside `masked_output()` (the one place they are
swapped), the step summary file by a call. So a value a server or proxy echoes
back in an error is still hidden.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

MASK = "***"
_MIN_LENGTH = 4  # shorter values would mask ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()


def _spellings(value: str) -> set[str]:
    """The value as written and as a JSON string spells it (a `"` or `\\` is escaped,
    and non-ASCII too unless ensure_ascii=False), so JSON output is masked as well."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def register(values: Iterable[str]) -> None:
    values = list(values)
    # a bearer token is often echoed without its scheme
    values += [v.split(" ", 1)[1] for v in values if " " in v]
    with _lock:
        _secrets.update(s for v in values if len(v) >= _MIN_LENGTH for s in _spellings(v))


def clear() -> None:
    """Forget every value: for a process that loads one unrelated manifest after
    another (the property tests); the CLI loads one per process."""
    with _lock:
        _secrets.clear()


def mask(text: str) -> str:
    if not _secrets or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class MaskedStream:
    """A text stream that masks secrets in everything written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        masked = mask(text)
        self._stream.write(masked)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def masked_output() -> Iterator[None]:
    """sys.stdout and sys.stderr mask every secret while inside; restored after."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskedStream(sys.stdout), MaskedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
