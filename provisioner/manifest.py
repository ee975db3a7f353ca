"""Manifest loading (minimal walking-skeleton version; issue 3 replaces the loader).

The types below are the contract later stages (observe, plan, apply) rely on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from .create_spec import CreateSpec
from .errors import ManifestError, Position, Problem
from .names import InvalidName, ModelName, parse_name


@dataclass(frozen=True)
class ServerSettings:
    host: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None  # seconds


ModelKind = Literal["registry", "custom", "absent"]


@dataclass(frozen=True)
class ModelSpec:
    """One declared model after defaults are applied and names normalized."""

    name: ModelName
    kind: ModelKind
    position: Position
    digest: str | None = None  # "sha256:<64 hex>" pin
    pull: Literal["if-missing", "always"] = "if-missing"
    insecure: bool = False
    warm: bool = False
    keep_alive: str | int | None = None  # Ollama duration form, as sent to the API
    aliases: tuple[ModelName, ...] = ()
    create: CreateSpec | None = None  # only for kind == "custom"


@dataclass(frozen=True)
class PruneSettings:
    enabled: bool = False
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    path: Path
    version: int
    server: ServerSettings
    models: tuple[ModelSpec, ...]
    prune: PruneSettings = PruneSettings()


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(text: str, file: str) -> str:
    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is not None:
            return value
        if m.group(2) is not None:
            return m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise ManifestError(
            [Problem(Position(file, line, col), "", f"environment variable {m.group(1)} is not set")]
        )

    return _VAR.sub(sub, text)


def load_manifest(path: str | Path) -> Manifest:
    """Load a manifest (walking skeleton: registry models and `state: absent` only)."""
    p = Path(path)
    file = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ManifestError([Problem(Position(file, 1, 1), "", f"cannot read: {e.strerror}")]) from e
    try:
        doc = yaml.safe_load(_expand(text, file))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ManifestError([Problem(Position(file, line, col), "", str(e.problem))]) from e
    here = Position(file, 1, 1)
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise ManifestError([Problem(here, "", "expected a mapping with a 'models' list")])
    models: list[ModelSpec] = []
    problems: list[Problem] = []
    for i, entry in enumerate(doc["models"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(Problem(here, f"/models/{i}", "each model needs a 'name'"))
            continue
        try:
            name = parse_name(entry["name"])
        except InvalidName as e:
            problems.append(Problem(here, f"/models/{i}/name", str(e)))
            continue
        absent = entry.get("state") == "absent"
        models.append(
            ModelSpec(
                name=name,
                kind="absent" if absent else "registry",
                position=here,
                insecure=bool(entry.get("insecure", False)),
            )
        )
    if problems:
        raise ManifestError(problems)
    server = doc.get("server") or {}
    return Manifest(
        path=p.resolve(),
        version=int(doc.get("version", 1)),
        server=ServerSettings(host=server.get("host")),
        models=tuple(models),
    )
