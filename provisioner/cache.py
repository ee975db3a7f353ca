"""Where the tool keeps what it may forget.

$OLLAMA_PROVISION_CACHE, else ~/.cache/ollama-provision.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    return Path(root)
