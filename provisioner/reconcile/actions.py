"""What a plan is made of: drift (how the server differs) and typed actions.

Each action is its own frozen type holding only its own fields; apply and
the views dispatch on the type with `match`. A warm-up is not drift: Warm
carries no Drift and never counts as a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from provisioner.names import ModelName
from provisioner.types.manifest import CreateSpec

DriftKind = Literal[
    "missing",
    "digest-mismatch",
    "outdated",
    "definition-changed",
    "alias-stale",
    "unwanted",
    "extra",
    "lock",  # the manifest differs from its lock (core.Planned.drifts), not the server
]
# What an action does to the server, as a plan summary counts it.
Effect = Literal["add", "change", "replace", "delete", "warm"]


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    model: ModelName
    expected: str | None = None
    actual: str | None = None
    detail: str | None = None

    @property
    def reason(self) -> str:
        return self.detail or self.kind


@dataclass(frozen=True)
class Pin:
    """A pull that must land on one digest: the pin, and /api/tags digests that are it
    (a registry manifest hashes two ways; see server/registry.py)."""

    digest: str  # "sha256:<hex>"
    accept: tuple[str, ...]  # "sha256:<hex>" digests /api/tags may show for it


@dataclass(frozen=True)
class Source:
    """Where a pull comes from when it is not the model's own registry: the name
    pulled, then copied to the model's name and deleted."""

    name: ModelName  # the model's name on the mirror
    registry: str  # the mirror as declared, host[:port][/prefix]


@dataclass(frozen=True)
class Pull:
    kind: ClassVar[str] = "pull"
    model: ModelName
    drift: Drift
    insecure: bool = False  # of the registry pulled from (the mirror's, with a source)
    pin: Pin | None = None
    source: Source | None = None  # None: from the registry in the model's name
    download_bytes: int | None = None  # blobs the server lacks; None: not known


@dataclass(frozen=True)
class Create:
    kind: ClassVar[str] = "create"
    model: ModelName
    drift: Drift
    spec: CreateSpec
    base: ModelName | None = None  # a model the create builds on (not a local file)


@dataclass(frozen=True)
class Copy:
    kind: ClassVar[str] = "copy"
    model: ModelName  # the alias written
    drift: Drift
    source: ModelName


@dataclass(frozen=True)
class Warm:
    kind: ClassVar[str] = "warm"
    model: ModelName
    keep_alive: str | int | None = None
    embedding: bool | None = None  # None: ask /api/show at apply time
    after_change: bool = False  # the model is (re)made in this apply, so load it again
    loaded: bool = False  # already in memory: loading again refreshes its expiry


@dataclass(frozen=True)
class Delete:
    kind: ClassVar[str] = "delete"
    model: ModelName
    drift: Drift
    pruned: bool = False  # undeclared and pruning on: needs consent (--yes)


Change = Pull | Create | Copy | Delete
Action = Pull | Create | Copy | Warm | Delete


def depends_on(action: Action) -> tuple[ModelName, ...]:
    """Models whose actions must succeed before this one runs."""
    match action:
        case Create(base=ModelName() as base):
            return (base,)
        case Copy(source=source):
            return (source,)
        case Warm(model=model):
            return (model,)
        case _:
            return ()


def effect(action: Action) -> Effect:
    match action:
        case Warm():
            return "warm"
        case Delete():
            return "delete"
        case Create(drift=Drift(kind="missing")) | Copy(drift=Drift(kind="missing")):
            return "add"
        case Pull(drift=Drift(kind="missing")):
            return "add"
        case Create():
            return "replace"
        case _:
            return "change"


def reason(action: Action) -> str:
    match action:
        case Warm(after_change=True):
            return "warm-up after the change"
        case Warm(loaded=True):
            return "refresh: already loaded"
        case Warm():
            return "warm-up: not loaded"
        case _:
            return action.drift.reason


def where_insecure(action: Action) -> str:
    """An implicit base inherits `insecure` from the model built on it: say where to set it."""
    if isinstance(action, Pull) and action.source is not None:
        return f" on its mirror ({action.source.registry}) in mirrors:"
    if isinstance(action, Pull) and (action.drift.detail or "").startswith("base of "):
        owner = (action.drift.detail or "").removeprefix("base of ")
        return f" on {owner} (its base), or declare {action.model.display} with insecure: true"
    if isinstance(action, Create) and action.base is not None:
        return f", or declare its base {action.base.display} with insecure: true"
    return " on this model"
