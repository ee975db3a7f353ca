"""Where a model came from: pulled, built on a server, or built from a local file
(see the rules in build.py: custom or registry, built from a local file)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from provisioner.errors import InvalidName
from provisioner.export.groups import Group
from provisioner.names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName, parse_name
from provisioner.types.wire import ShowResult

Origin = Literal["registry", "custom", "file"]

FILE_SUFFIXES = (".gguf", ".safetensors", ".bin")
_BLOB_NAME = re.compile(r"sha256[-:][0-9a-fA-F]{64}")  # a blob's file name (or digest)


def is_published(name: ModelName) -> bool:
    """A name with a registry host or a namespace: one that can be pushed and pulled."""
    return name.host.lower() != DEFAULT_HOST or name.namespace.lower() != DEFAULT_NAMESPACE


def published(names: Sequence[ModelName]) -> bool:
    return any(is_published(n) for n in names)


def _looks_like_file(value: str) -> bool:
    """Whether a server's recorded parent_model is a file rather than a model name."""
    # Not custom.modelfile.looks_like_path on purpose: that one reads what a user wrote,
    # by Ollama's CLI prefix rule and this machine's os.path. This one reads what a server
    # recorded: a path of the server's own OS (backslashes), a bare file name, or a blob.
    return (
        value.startswith(("/", "./", "../", "~"))
        or "\\" in value
        or value.lower().endswith(FILE_SUFFIXES)
        or _BLOB_NAME.fullmatch(value) is not None
    )


def _blob_dir(show: ShowResult) -> str | None:
    """This server's blob folder, from the FROM line /api/show writes."""
    for line in show.modelfile.splitlines():
        command, _, value = line.strip().partition(" ")
        if command.upper() == "FROM":
            value = value.strip()
            cut = max(value.rfind("/"), value.rfind("\\"))
            return value[:cut] if cut > 0 and "sha256" in value[cut:] else None
    return None


def origin_of(group: Group, show: ShowResult) -> tuple[Origin, str]:
    """(origin, parent_model) by the rule in the module docstring."""
    parent = str(show.details.get("parent_model") or "").strip()
    if not parent:
        return "registry", parent
    if not _looks_like_file(parent):
        try:
            parse_name(parent)
        except InvalidName:
            pass
        else:
            return "custom", parent
    cut = max(parent.rfind("/"), parent.rfind("\\"))
    if cut >= 0:  # the blob path on the server that built it
        return ("file" if parent[:cut] == _blob_dir(show) else "registry"), parent
    return ("registry" if published(group.names) else "file"), parent
