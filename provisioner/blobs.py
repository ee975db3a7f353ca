"""Local weight files: hash them (cached), and upload them only when the server lacks them.

The hash cache is keyed by absolute path, size and modification time (ns),
so an unchanged multi-GB file is hashed once. Hashing and uploading stream
the file in fixed-size chunks: memory stays flat whatever the file size.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from .client import Client, Progress, ProgressCallback

CHUNK = 4 << 20
# What Ollama's CLI sends from a model folder (safetensors weights and their metadata).
_FOLDER_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.json", "tokenizer.model")


def default_cache_path() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    return Path(root) / "hashes.json"


class HashCache:
    """sha256 digests of local files, remembered across runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._entries = {}

    @staticmethod
    def _key(path: Path) -> str:
        st = path.stat()
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def digest(self, path: Path, on_progress: ProgressCallback | None = None) -> str:
        key = self._key(path)
        with self._lock:
            known = self._entries.get(key)
        if known is not None:
            self.hits += 1
            return known
        self.misses += 1
        found = sha256_file(path, on_progress)
        with self._lock:
            self._entries[key] = found
            self._save()
        return found

    def _save(self) -> None:
        """Write atomically: a crash never leaves a half-written cache."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hashes-")
        with os.fdopen(fd, "w") as f:
            json.dump(self._entries, f)
        os.replace(tmp, self.path)


def sha256_file(path: Path, on_progress: ProgressCallback | None = None) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            done += len(chunk)
            if on_progress is not None:
                on_progress(Progress(path.name, "hashing", None, size, done))
    return "sha256:" + h.hexdigest()


def weight_files(path: Path) -> dict[str, Path]:
    """The files a FROM/ADAPTER path stands for, keyed by the name the server gets."""
    if path.is_file():
        return {path.name: path}
    found: dict[str, Path] = {}
    for pattern in _FOLDER_PATTERNS:
        for file in sorted(path.glob(pattern)):
            found[file.relative_to(path).as_posix()] = file
    return found


def ensure_blobs(
    client: Client,
    path: Path,
    cache: HashCache,
    on_progress: ProgressCallback | None = None,
    uploaded: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Hash and, where the server lacks them, upload the files; return {name: digest}."""
    mapping: dict[str, str] = {}
    for name, file in weight_files(path).items():
        digest = cache.digest(file, on_progress)
        if not client.blob_exists(digest):
            client.upload_blob(digest, file, on_progress=on_progress)
            if uploaded is not None:
                uploaded(digest)
        mapping[name] = digest
    return mapping
