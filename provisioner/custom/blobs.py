"""Local weight files: hash them (cached), upload only what the server lacks, and
remember what a create made of them.

- The hash cache is keyed by absolute path, size and modification time (ns),
  so an unchanged multi-GB file is hashed once, ever. It also keeps, per file,
  whether a GGUF carries a chat template (Ollama then derives a template from
  it), and "builds": which model layer a create produced from which source,
  for the cases where the server does not store the uploaded file as is
  (quantize, safetensors conversion, newer servers that rewrite GGUFs).
- Hashing and uploading stream the file in fixed-size chunks through one
  reused buffer: memory stays flat whatever the file size.
- Upload: HEAD /api/blobs/<digest>, POST only on 404 (the Ollama CLI always POSTs).
- Only regular files are read: a FIFO, a device (/dev/zero) or a socket is
  refused at open (`read_regular`, `open_regular`), never read forever.
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
import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

if sys.platform != "win32":
    import fcntl

from provisioner.atomic import write_atomically
from provisioner.errors import WeightsNotFound

# Defined in types/state.py (the pure plan reads them); LocalState re-exported for
# the modules that import it from here.
from provisioner.types.state import LocalState as LocalState
from provisioner.types.state import LocalWeights, build_key
from provisioner.types.wire import Progress, ProgressCallback, ShowResult

CHUNK = 4 << 20
CACHE_VERSION = 2
MAX_CACHE_BYTES = 64 << 20  # about 300,000 entries; a bigger file is not ours


def default_cache_path() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    return Path(root) / "hashes.json"


# ---- reading only regular files --------------------------------------------------------

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a path is, in words, from its st_mode: "a regular file", "a FIFO (named pipe)"..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path) -> io.FileIO:
    """Open a file for reading, refusing anything but a regular file (OSError EINVAL).

    Opened without blocking, so a FIFO nobody writes to is refused at once
    instead of waiting; the kind is checked on the open descriptor (no race)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{file_kind(mode)}, not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError (EFBIG) when larger."""
    chunks: list[bytes] = []
    size = 0
    with open_regular(path) as f:
        while size <= limit and (chunk := f.read(limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB", str(path))
    return data


# ---- what the local files are --------------------------------------------------------


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


def weight_files(path: Path) -> dict[str, Path]:
    """The files a FROM/ADAPTER path stands for, keyed by the name the server gets.

    A file stands for itself (named by its base name, as the Ollama CLI sends
    it). A folder is read the way the CLI's `filesForModel` reads one: the
    first kind of weights found (safetensors, pytorch_model*.bin,
    consolidated*.pth, *.gguf, *.bin), then its JSON files (also one folder
    down) and tokenizer.model when there is no tokenizer.json. Names are
    relative to the folder.
    """
    if not path.is_dir():
        return {path.name: path}
    weights: list[Path] = []
    for pattern in ("*.safetensors", "pytorch_model*.bin", "consolidated*.pth", "*.gguf", "*.bin"):
        weights = sorted(p for p in path.glob(pattern) if p.is_file())
        if weights:
            break
    if not weights:
        raise WeightsNotFound(
            f"{path}: no weights found (looked for *.safetensors, *.gguf, *.bin, "
            "pytorch_model*.bin, consolidated*.pth)"
        )
    found = weights + sorted(path.glob("*.json")) + sorted(path.glob("*/*.json"))
    if not any(p.name == "tokenizer.json" for p in found):
        found += sorted(path.glob("tokenizer.model")) or sorted(path.glob("*/tokenizer.model"))
    return {p.relative_to(path).as_posix(): p for p in found if p.is_file()}


# ---- GGUF metadata: only what decides Ollama's create ----------------------------------

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


# ---- the server's side ------------------------------------------------------------------

_DIGEST = re.compile(r"sha256[-:]([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class ServerWeights:
    """The weight layers of a model, read from /api/show's generated Modelfile."""

    model: str | None  # "sha256:<hex>" of the model layer; None when not a blob
    adapters: tuple[str, ...] = ()


def show_weights(show: ShowResult) -> ServerWeights:
    """Ollama writes FROM <model blob>, ADAPTER <blob>... first (then projectors as FROM)."""
    model: str | None = None
    seen_from = False
    adapters: list[str] = []
    for line in show.modelfile.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        command, _, value = text.partition(" ")
        found = _DIGEST.search(value)
        digest = "sha256:" + found.group(1).lower() if found else None
        if command.upper() == "FROM" and not seen_from:
            seen_from, model = True, digest
        elif command.upper() == "ADAPTER" and digest:
            adapters.append(digest)
        elif command.upper() not in ("FROM", "ADAPTER", "DRAFT"):
            break
    return ServerWeights(model, tuple(adapters))
