"""What a loaded manifest is: the typed, immutable result of manifest/load.py.

Defined here, apart from the YAML and JSON Schema machinery that builds them, so
the pure plan, the server connection and the views import them without that
weight (the layering contract in pyproject.toml holds this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from provisioner.errors import Position, Problem
from provisioner.names import ModelName

# (label, the values it may have), sorted by label: hashable, and printed the same way
# whatever order the manifest wrote them in.
Selector = tuple[tuple[str, tuple[str, ...]], ...]
Labels = Mapping[str, str]


@dataclass(frozen=True)
class CreateSpec:
    """A custom model's definition.

    from_: a model reference (e.g. "llama3.2") or an absolute local path to a
    GGUF file or safetensors folder. adapters: absolute local paths.
    parameters keep Ollama's JSON types: int, float, bool, str, and a list of
    str for "stop".
    """

    from_: str
    from_is_path: bool = False
    system: str | None = None
    template: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    adapters: tuple[str, ...] = ()
    license: tuple[str, ...] = ()
    quantize: str | None = None
    requires: str | None = None  # semver without a leading "v"


@dataclass(frozen=True)
class Mirror:
    source: str  # the registry host it stands in for, lower case
    host: str  # the mirror's host[:port]
    prefix: str | None = None  # replaces the namespace (one path segment)
    insecure: bool = False  # plain http
    label: str | None = None  # how plans name it when not by address (oci:PATH)

    @property
    def to(self) -> str:
        """The mirror as declared: host[:port][/prefix]."""
        return f"{self.host}/{self.prefix}" if self.prefix else self.host

    @property
    def where(self) -> str:
        """How a plan names where a pull comes from."""
        return self.label or self.to


@dataclass(frozen=True)
class ServerSettings:
    host: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # secrets: never print values
    timeout: float | None = None  # seconds


ModelKind = Literal["registry", "custom", "absent"]
PullPolicy = Literal["if-missing", "always"]


@dataclass(frozen=True)
class ModelSpec:
    """One declared model after defaults are applied and names normalized."""

    name: ModelName
    kind: ModelKind
    position: Position
    digest: str | None = None  # "sha256:<64 hex>" pin
    pinned_by: str | None = None  # the lock file's name when the pin came from it
    pull: PullPolicy = "if-missing"
    insecure: bool = False
    warm: bool = False
    keep_alive: str | int | None = None  # Ollama duration form, as sent to the API
    aliases: tuple[ModelName, ...] = ()
    create: CreateSpec | None = None  # only for kind == "custom"
    base: ModelName | None = None  # a custom model's base when it is a model, not a file
    # Inventory labels a server needs to get this model: (label, accepted values), sorted.
    selector: Selector = ()


@dataclass(frozen=True)
class PruneSettings:
    enabled: bool = False
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    path: Path  # absolute
    version: int
    server: ServerSettings
    models: tuple[ModelSpec, ...]
    prune: PruneSettings = PruneSettings()
    warnings: tuple[Problem, ...] = ()  # doubtful but valid: printed, never fatal
    mirrors: Mapping[str, Mirror] = field(default_factory=dict)  # by source registry host
