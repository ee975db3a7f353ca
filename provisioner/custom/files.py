"""Reading local files safely: only regular files are read.

A FIFO, a device (/dev/zero) or a socket is refused at open (`open_regular`,
`read_regular`), never read forever; the lock, the inventory and the hash cache
are all read this way. Also which files a FROM or ADAPTER path stands for
(`weight_files`, as the Ollama CLI picks them).
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from provisioner.errors import WeightsNotFound

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
