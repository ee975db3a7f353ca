"""The hash cache: sha256 digests of local weight files, across runs.

- Keyed by absolute path, size and modification time (ns), so an unchanged
  multi-GB file is hashed once, ever. It also keeps, per file, whether a GGUF
  carries a chat template (Ollama then derives a template from it), and
  "builds": which model layer a create produced from which source, for the
  cases where the server does not store the uploaded file as is (quantize,
  safetensors conversion, newer servers that rewrite GGUFs).
- Hashing streams the file in fixed-size chunks through one reused buffer:
  memory stays flat whatever the file size.
- The cache is a convenience, never a reason to fail: a corrupt cache file is
  ignored and rebuilt, an unwritable one means working without it; either is
  one note (`HashCache.notes`, and `on_note`, by default a `note:` line on
  stderr). Saves from concurrent runs merge under an advisory lock
  (`<cache>.lock`, flock): each run re-reads the file, adds what it learned
  (newest wins per key) and writes it atomically, so no run loses another's
  entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

if sys.platform != "win32":
    import fcntl

from provisioner.atomic import write_atomically
from provisioner.custom.files import open_regular, read_regular, weight_files
from provisioner.custom.gguf import gguf_chat_template
from provisioner.custom.weights import LocalWeights, build_key
from provisioner.types.wire import Progress, ProgressCallback

CHUNK = 4 << 20
CACHE_VERSION = 2
MAX_CACHE_BYTES = 64 << 20  # about 300,000 entries; a bigger file is not ours


def default_cache_path() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    return Path(root) / "hashes.json"


def _note_on_stderr(text: str) -> None:
    print(f"note: {text}", file=sys.stderr, flush=True)


Files = dict[str, dict[str, Any]]


def _parse_cache(data: bytes) -> tuple[Files, dict[str, str]]:
    """The entries of a cache file; ValueError when it is not one (corrupt, wrong shape)."""
    body = json.loads(data)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    if body.get("version") == CACHE_VERSION:
        files, builds = body.get("files") or {}, body.get("builds") or {}
        if not isinstance(files, dict) or not isinstance(builds, dict):
            raise ValueError("files or builds is not an object")
        return (
            {
                k: v
                for k, v in files.items()
                if isinstance(v, dict) and isinstance(v.get("sha256"), str)
            },
            {k: v for k, v in builds.items() if isinstance(v, str)},
        )
    if "version" in body:
        raise ValueError(f"version {body['version']!r} is not ours")
    # version 1: {key: digest}
    return {k: {"sha256": v} for k, v in body.items() if isinstance(v, str)}, {}


class HashCache:
    """sha256 digests (and GGUF facts) of local files, and remembered builds, across runs.

    Never fails a run: what cannot be read is rebuilt, what cannot be written is
    kept in memory for this run only; each is one note (`notes`, and `on_note`,
    which prints `note: ...` on stderr unless the caller gives its own)."""

    def __init__(
        self, path: Path | None = None, *, on_note: Callable[[str], None] | None = None
    ) -> None:
        self.path = path or default_cache_path()
        self.hits = 0
        self.misses = 0
        self.notes: list[str] = []
        self._on_note = on_note or _note_on_stderr
        self._lock = threading.Lock()
        self._writable = True
        self._files: Files = {}
        self._builds: dict[str, str] = {}
        self._new_files: Files = {}  # learned by this run: these win when merging
        self._new_builds: dict[str, str] = {}
        found = self._read()
        if found is not None:
            self._files, self._builds = found

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            self._on_note(text)

    def _read(self) -> tuple[Files, dict[str, str]] | None:
        """The cache file's entries; None when there is none (or, after a note, a bad one)."""
        try:
            return _parse_cache(read_regular(self.path, MAX_CACHE_BYTES))
        except (FileNotFoundError, NotADirectoryError):
            return None  # no cache yet (or no folder for one: saving will say so)
        except (OSError, ValueError, RecursionError):
            self._note(f"the hash cache {self.path} was unreadable; rebuilding it")
            return None

    @staticmethod
    def _key(path: Path) -> str:
        real = path.resolve()
        st = real.stat()
        return f"{real}|{st.st_size}|{st.st_mtime_ns}"

    def _entry(self, path: Path, on_progress: ProgressCallback | None) -> dict[str, Any]:
        key = self._key(path)
        with self._lock:
            known = self._files.get(key)
        if known is not None and "sha256" in known:
            self.hits += 1
            return known
        self.misses += 1
        entry = {
            "sha256": sha256_file(path, on_progress),
            "chat_template": gguf_chat_template(path),
        }
        with self._lock:
            self._files[key] = self._new_files[key] = entry
            self._save()
        return entry

    def digest(self, path: Path, on_progress: ProgressCallback | None = None) -> str:
        return str(self._entry(path, on_progress)["sha256"])

    def inspect(self, path: Path, on_progress: ProgressCallback | None = None) -> LocalWeights:
        """Hash (or recall) every file the path stands for."""
        files = weight_files(path)
        digests = {name: self._entry(file, on_progress) for name, file in files.items()}
        chat_template = None
        if path.is_file():
            found = next(iter(digests.values())).get("chat_template")
            chat_template = found if isinstance(found, bool) else None
        mapping = {name: str(entry["sha256"]) for name, entry in digests.items()}
        return LocalWeights(str(path), mapping, chat_template)

    @property
    def builds(self) -> Mapping[str, str]:
        with self._lock:
            return dict(self._builds)

    def remember_build(self, source: str, layer: str, quantize: str | None, result: str) -> None:
        key = build_key(source, layer, quantize)
        with self._lock:
            if self._builds.get(key) == result:
                return
            self._builds[key] = self._new_builds[key] = result
            self._save()

    def _save(self) -> None:
        """Merge into the file under its lock, write atomically (callers hold self._lock).

        The file is read again under the lock, so entries other runs saved since
        this one started are kept; what this run learned wins over them."""
        if not self._writable:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self.path.with_name(self.path.name + ".lock")):
                on_disk = self._read() or ({}, {})
                self._files = {**self._files, **on_disk[0], **self._new_files}
                self._builds = {**self._builds, **on_disk[1], **self._new_builds}
                body = {"version": CACHE_VERSION, "files": self._files, "builds": self._builds}
                write_atomically(self.path, json.dumps(body))
            self._new_files, self._new_builds = {}, {}  # saved: from now on the file wins
        except OSError as e:
            self._writable = False
            reason = e.strerror or str(e)
            self._note(
                f"cannot write the hash cache {self.path} ({reason}); going on without it "
                "(local files will be hashed again next run)"
            )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if needed) while inside."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if sys.platform != "win32":
            with contextlib.suppress(OSError):  # a file system without locks: best effort
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def sha256_file(path: Path, on_progress: ProgressCallback | None = None) -> str:
    """sha256 of a regular file, read through one reused buffer (constant memory)."""
    h = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done = 0
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        while n := f.readinto(buffer):
            h.update(view[:n])
            done += n
            if on_progress is not None:
                on_progress(Progress(path.name, "hashing", None, size, done))
    return "sha256:" + h.hexdigest()
