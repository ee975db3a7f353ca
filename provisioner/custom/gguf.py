"""GGUF metadata: only what decides Ollama's create (whether a chat template is there)."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def gguf_chat_template(path: Path) -> bool | None:
    """Whether a GGUF file has `tokenizer.chat_template`; None when it is not GGUF v2/v3.

    Reads the key/value section only, skipping values (a vocabulary of 150k
    strings is skipped string by string, without holding it).
    """
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                return None
            (version,) = struct.unpack("<I", f.read(4))
            if version not in (2, 3):
                return None
            _, kv_count = struct.unpack("<QQ", f.read(16))
            for _ in range(kv_count):
                key = _read_string(f)
                if key == b"tokenizer.chat_template":
                    return True
                (kind,) = struct.unpack("<I", f.read(4))
                _skip_value(f, kind)
    except (OSError, struct.error, ValueError):
        return None
    return False


def _read_string(f: BinaryIO) -> bytes:
    (n,) = struct.unpack("<Q", f.read(8))
    if n > 1 << 20:
        raise ValueError("implausible key length")
    return f.read(n)


def _skip_value(f: BinaryIO, kind: int) -> None:
    if kind in _GGUF_SCALARS:
        f.seek(_GGUF_SCALARS[kind], os.SEEK_CUR)
    elif kind == _GGUF_STRING:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(n, os.SEEK_CUR)
    elif kind == _GGUF_ARRAY:
        item, count = struct.unpack("<IQ", f.read(12))
        if item in _GGUF_SCALARS:
            f.seek(_GGUF_SCALARS[item] * count, os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip_value(f, item)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")
