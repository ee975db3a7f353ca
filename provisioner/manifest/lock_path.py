"""Where a manifest's lock lives: `<stem>.lock.json` beside it.

Its own stdlib-only module so that noop.py (which must not import yaml or httpx)
keys its verdict on the very file lock.py reads and writes.
"""

from __future__ import annotations

from pathlib import Path


def lock_path(manifest_path: Path) -> Path:
    name = manifest_path.name
    stem = name.rsplit(".", 1)[0] if name.endswith((".yaml", ".yml")) else name
    return manifest_path.with_name(f"{stem}.lock.json")
