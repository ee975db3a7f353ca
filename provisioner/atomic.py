"""The one way this tool writes a file: readers see the old content or the new, never half.

The text goes to a temporary file beside the target, is flushed to disk, may
be checked there (a manifest is loaded from that very file, so its relative
paths resolve as they will), gets the mode asked for, else the target's mode
(or 0666 less the umask, as any new file would), and is then moved over the
target. `write_chunks_atomically` takes the bytes as an iterable, so a large
blob streams through without being held in memory; an exception from the
iterable (a digest that does not match) leaves nothing behind. Without
`overwrite`, the move is a hard link, which refuses to replace a file that
appeared meanwhile. On any failure the temporary file is removed and the
target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from provisioner.errors import TargetExists


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def write_atomically(
    path: Path,
    text: str,
    *,
    overwrite: bool = True,
    check: Callable[[Path], None] | None = None,
    mode: int | None = None,
) -> None:
    """Write `text` to `path` in one step; `check` may raise to stop before the move."""
    write_chunks_atomically(
        path, [text.encode("utf-8")], overwrite=overwrite, check=check, mode=mode
    )


def write_chunks_atomically(
    path: Path,
    chunks: Iterable[bytes],
    *,
    overwrite: bool = True,
    check: Callable[[Path], None] | None = None,
    mode: int | None = None,
) -> int:
    """Write the bytes of `chunks` to `path` in one step; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    written = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(temp)
        os.chmod(temp, _mode_for(path) if mode is None else mode)
        _move(temp, path, overwrite=overwrite)
        _sync_folder(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return written


def _move(temp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # atomic, and never replaces a file that appeared meanwhile
    except FileExistsError:
        raise TargetExists(path) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise TargetExists(path) from None
        os.replace(temp, path)


def _sync_folder(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
