"""What an Ollama server answers, as typed values: the parts of /api/tags,
/api/ps, /api/show and the progress streams the tool uses. server/client.py
builds them from the JSON; everything else reads them from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One line of a pull/create/upload stream, as a typed event."""

    model: str
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class TagEntry:
    """One model as GET /api/tags lists it."""

    name: str
    digest: str  # "sha256:<hex>": hash of the manifest file on disk (Ollama sends bare hex)
    size: int
    modified_at: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningModel:
    """One model as GET /api/ps lists it."""

    name: str
    digest: str
    size: int
    size_vram: int
    expires_at: str


@dataclass(frozen=True)
class ShowResult:
    """The parts of POST /api/show a provisioner compares; `raw` keeps the rest."""

    system: str
    template: str
    parameters: str
    license: str
    modelfile: str
    capabilities: tuple[str, ...]
    details: Mapping[str, Any]
    messages: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]
