"""FROM and ADAPTER on the file system, as Ollama reads them, and our refusals.

As Ollama: FROM names a local file or folder when that path exists (relative
to the Modelfile's folder, `~` expanded), otherwise a model, kept verbatim; a
FROM or ADAPTER folder whose weight files resolve (through symlinks) outside
the folder as written is refused ("insecure path").
Decisions of ours, where Ollama would go on: a FROM that looks like a path
(`./`, `../`, `/`, `~`) but does not exist is an error (Ollama would try to
pull it as a model name); an empty FROM is an error (Ollama would take the
Modelfile's own folder as the weights); a FROM that is neither an existing
path nor a valid model name is an error (the server would refuse it at
create); a FROM or ADAPTER that is neither a regular file nor a folder
(/dev/zero, a FIFO, a socket) is an error (the CLI of v0.11.4 and v0.34.4
hashes /dev/zero or a FIFO forever at "gathering model components", and sends
/dev/null as an empty blob the server refuses: "unknown type").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from provisioner.custom.files import file_kind, weight_files
from provisioner.custom.modelfile.grammar import Command, Origin
from provisioner.errors import WeightsNotFound
from provisioner.names import invalid_reason


def resolve_from(command: Command, origin: Origin) -> tuple[str, bool]:
    if not command.args:
        raise origin.error(
            command.value_at, "empty FROM: write `FROM <model or path>` (a model name or a file)"
        )
    path = _local_path(command, origin)
    if _exists(path, command, origin):
        _check_kind(path, command, origin)
        _check_folder(path, command, origin)
        return path, True
    if looks_like_path(command.args):
        raise origin.error(
            command.value_at,
            f"FROM path '{command.args}' does not exist (looked for {path}): "
            "fix the path, or name a model without ./ / ~",
        )
    reason = invalid_reason(command.args)
    if reason is not None:
        raise origin.error(
            command.value_at,
            f"base '{command.args}' is neither a model name ({reason}) nor an existing file; "
            "fix FROM",
        )
    return command.args, False


def resolve_adapter(command: Command, origin: Origin) -> str:
    path = _local_path(command, origin)
    if not command.args or not _exists(path, command, origin):
        raise origin.error(
            command.value_at,
            f"ADAPTER path '{command.args}' does not exist (looked for {path}): "
            "fix the path; relative paths start at the Modelfile's folder",
        )
    _check_kind(path, command, origin)
    _check_folder(path, command, origin)
    return path


def special_file(path: str) -> str | None:
    """What a path is when it is neither a regular file nor a folder ("a FIFO (named
    pipe)", "a character device"...), else None. Ollama's create reads such a FROM
    (/dev/zero, a FIFO) forever; we refuse it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # gone or unreadable: reported where it is read
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return file_kind(mode)


def _check_kind(path: str, command: Command, origin: Origin) -> None:
    kind = special_file(path)
    if kind is not None:
        keyword = "FROM" if command.name == "model" else "ADAPTER"
        raise origin.error(
            command.value_at,
            f"{keyword} '{command.args}' is {kind}, not a file or folder of weights: "
            f"point {keyword} at a GGUF or safetensors file or folder",
        )


def _check_folder(path: str, command: Command, origin: Origin) -> None:
    """A folder must hold weights, each inside the folder as written once symlinks are
    resolved: Ollama's fileDigestMap refuses anything else as "insecure path"."""
    if not os.path.isdir(path):
        return  # a single file is read through its symlinks, wherever they lead
    keyword = "FROM" if command.name == "model" else "ADAPTER"
    try:
        files = weight_files(Path(path))
    except WeightsNotFound as err:
        raise origin.error(command.value_at, f"{keyword} folder {err}") from None
    except OSError as err:
        raise origin.error(command.value_at, f"cannot read '{path}': {err.strerror}") from None
    for file in files.values():
        resolved = os.path.realpath(file)
        relative = os.path.relpath(resolved, path)
        if relative == ".." or relative.startswith(("../", "/")) or os.path.isabs(relative):
            raise origin.error(
                command.value_at,
                f"insecure path: {keyword} '{command.args}' has {file}, which resolves to "
                f"{resolved}, outside {path} (Ollama refuses symlinks leading out of the "
                "folder): point it at the real folder",
            )


def _local_path(command: Command, origin: Origin) -> str:
    """Ollama's expandPath: absolute stays, ~ and ~user expand, the rest joins base_dir."""
    value = command.args
    if value.startswith("~"):
        value = os.path.expanduser(value)
        if value.startswith("~"):
            user = command.args[1:].split("/")[0]
            raise origin.error(command.value_at, f"cannot expand '~{user}': no such user")
    return os.path.abspath(os.path.join(origin.base_dir, value))


def _exists(path: str, command: Command, origin: Origin) -> bool:
    """Whether the path exists; any failure other than "no such file" is an error, as in Ollama."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as err:
        raise origin.error(command.value_at, f"cannot read '{path}': {err.strerror}") from None
    return True


def looks_like_path(value: str) -> bool:
    """Whether FROM/ADAPTER text is meant as a file (Ollama's CLI reads these as paths)."""
    return value.startswith(("./", "../", "/", "~", ".\\", "..\\", "\\")) or os.path.isabs(value)
