"""The plan: a pure diff of a Manifest against a ServerState. No I/O here.

Each action carries the drift that caused it; the order is the order apply
runs them in (pulls, then deletes last).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .manifest import Manifest
from .names import ModelName
from .observe import ServerState

DriftKind = Literal[
    "missing",
    "digest-mismatch",
    "outdated",
    "definition-changed",
    "alias-stale",
    "unwanted",
    "extra",
]
ActionKind = Literal["pull", "create", "copy", "warm", "delete"]
_ORDER: dict[str, int] = {"pull": 0, "create": 1, "copy": 2, "warm": 3, "delete": 4}


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    model: ModelName
    expected: str | None = None
    actual: str | None = None


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    model: ModelName
    drift: Drift
    insecure: bool = False


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    in_sync: tuple[ModelName, ...]
    extras: tuple[Drift, ...]  # reported only: undeclared models, pruning off

    @property
    def changes(self) -> bool:
        return bool(self.actions)


def make_plan(manifest: Manifest, state: ServerState) -> Plan:
    actions: list[Action] = []
    in_sync: list[ModelName] = []
    declared = {spec.name.key for spec in manifest.models}
    for spec in manifest.models:
        present = state.find(spec.name)
        if spec.kind == "absent":
            if present is not None:
                drift = Drift("unwanted", spec.name, expected="absent", actual="present")
                actions.append(Action("delete", spec.name, drift))
            continue
        if present is None:
            drift = Drift("missing", spec.name, expected="present", actual="absent")
            actions.append(Action("pull", spec.name, drift, insecure=spec.insecure))
        else:
            in_sync.append(spec.name)
    extras = tuple(
        Drift("extra", model.name, expected="undeclared", actual="present")
        for model in state.models
        if model.name.key not in declared
    )
    actions.sort(key=lambda a: _ORDER[a.kind])
    return Plan(actions=tuple(actions), in_sync=tuple(in_sync), extras=extras)
