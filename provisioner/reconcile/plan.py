"""The plan: a pure diff of a Manifest against a ServerState. No I/O here.

Each action carries the drift that caused it and the models it depends on;
actions come in the order apply runs them: pulls, creates (dependency order),
copies, warm-ups, deletes last. A base of a custom model is an implicit
dependency: pulled when missing, never pruned. Problems found while observing
(a registry that cannot be read, a pin it no longer serves) become failures
of that model, not of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from provisioner.custom.definition import definition_differences
from provisioner.custom.spec import CreateSpec
from provisioner.errors import ServerError
from provisioner.manifest.load import Manifest, ModelSpec
from provisioner.names import ModelName
from provisioner.reconcile.observe import Key, ServerModel, ServerState, pin_matches
from provisioner.server.registry import RemoteManifest

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
    detail: str | None = None


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    model: ModelName
    drift: Drift
    insecure: bool = False
    create: CreateSpec | None = None  # create: the definition to send
    source: ModelName | None = None  # copy: the model copied from
    keep_alive: str | int | None = None  # warm
    embedding: bool | None = None  # warm: None means ask /api/show at apply time
    expected_digest: str | None = None  # pull of a pin: the pin
    accept_digests: tuple[str, ...] = ()  # pull of a pin: /api/tags digests that are the pin
    depends_on: tuple[ModelName, ...] = ()  # models whose actions must succeed first

    @property
    def reason(self) -> str:
        return self.drift.detail or self.drift.kind


@dataclass(frozen=True)
class Failure:
    """A declared model that cannot be converged, found before any action."""

    model: ModelName
    message: str
    drift: Drift | None = None


@dataclass(frozen=True)
class Plan:
    server_version: str
    actions: tuple[Action, ...]
    in_sync: tuple[ModelName, ...]
    extras: tuple[Drift, ...] = ()  # reported only: undeclared, pruning off
    failures: tuple[Failure, ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.actions or self.failures)

    @property
    def drifts(self) -> tuple[Drift, ...]:
        found = [a.drift for a in self.actions if a.kind != "warm"]
        found += [f.drift for f in self.failures if f.drift is not None]
        return (*found, *self.extras)


@dataclass
class _Builder:
    state: ServerState
    actions: list[Action] = field(default_factory=list)
    in_sync: list[ModelName] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def acting_on(self, name: ModelName) -> bool:
        return any(a.model.key == name.key and a.kind != "warm" for a in self.actions)


def _remote(state: ServerState, spec: ModelSpec) -> RemoteManifest | ServerError | None:
    return state.remote.get(spec.name.key)


def _pin_served(remote: RemoteManifest, pin: str) -> bool:
    return pin in (remote.digest, remote.reserialized_digest)


def _plan_registry(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    name, pin = spec.name, spec.digest
    remote = _remote(b.state, spec)
    if isinstance(remote, ServerError):
        b.failures.append(Failure(name, f"cannot read the registry: {remote.message}"))
        return
    if have is not None and (pin is None or pin_matches(spec, have)):
        if remote is None or remote.matches(have.digest):
            b.in_sync.append(name)
            return
        drift = Drift("outdated", name, expected=remote.digest, actual="sha256:" + have.digest)
        b.actions.append(Action("pull", name, drift, insecure=spec.insecure))
        return
    if pin is None:
        drift = Drift("missing", name, expected="present", actual="absent")
        b.actions.append(Action("pull", name, drift, insecure=spec.insecure))
        return
    actual = "sha256:" + have.digest if have else "absent"
    kind: DriftKind = "missing" if have is None else "digest-mismatch"
    drift = Drift(kind, name, expected=pin, actual=actual)
    served = remote is not None and _pin_served(remote, pin)
    if served and have is not None and remote is not None and remote.matches(have.digest):
        b.in_sync.append(name)  # same manifest, hashed the other way (v0.11.4)
        return
    if not served:
        serves = remote.digest if isinstance(remote, RemoteManifest) else "nothing"
        message = (
            f"pinned {pin} but the registry serves {serves} for tag {name.tag}; "
            "update the pin or push the pinned model"
        )
        b.failures.append(Failure(name, message, drift))
        return
    assert isinstance(remote, RemoteManifest)
    accept = (remote.digest[7:], remote.reserialized_digest[7:])
    b.actions.append(
        Action(
            "pull", name, drift, insecure=spec.insecure, expected_digest=pin, accept_digests=accept
        )
    )


def _plan_custom(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    assert spec.create is not None
    base = spec.base
    deps = (base,) if base is not None else ()
    if have is None:
        drift = Drift("missing", spec.name, expected="present", actual="absent")
        b.actions.append(Action("create", spec.name, drift, create=spec.create, depends_on=deps))
        return
    show = b.state.shows.get(spec.name.key)
    differences: tuple[str, ...] = ()
    if show is not None:
        differences = definition_differences(
            spec.create,
            show,
            base=b.state.shows.get(base.key) if base is not None else None,
            local=b.state.local,
            server_version=b.state.version,
        )
    base_rebuilt = base is not None and b.acting_on(base)
    if not differences and not base_rebuilt:
        b.in_sync.append(spec.name)
        return
    detail = "; ".join(differences) if differences else f"base {base} changes in this apply"
    drift = Drift("definition-changed", spec.name, detail=f"definition-changed: {detail}")
    b.actions.append(Action("create", spec.name, drift, create=spec.create, depends_on=deps))


def _plan_aliases(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    source_changes = b.acting_on(spec.name)
    for alias in spec.aliases:
        current = b.state.find(alias)
        if current is None:
            drift = Drift("missing", alias, expected=f"copy of {spec.name}", actual="absent")
        elif source_changes or have is None or current.digest != have.digest:
            actual = "sha256:" + current.digest
            expected = "sha256:" + have.digest if have and not source_changes else str(spec.name)
            drift = Drift("alias-stale", alias, expected=expected, actual=actual)
        else:
            b.in_sync.append(alias)
            continue
        b.actions.append(Action("copy", alias, drift, source=spec.name, depends_on=(spec.name,)))


def _plan_warm(b: _Builder, spec: ModelSpec) -> None:
    if not spec.warm:
        return
    if b.state.is_loaded(spec.name) and not b.acting_on(spec.name):
        return
    show = b.state.shows.get(spec.name.key)
    embedding = None if show is None else "embedding" in show.capabilities
    drift = Drift("missing", spec.name, expected="loaded", actual="not loaded", detail="warm-up")
    b.actions.append(
        Action(
            "warm",
            spec.name,
            drift,
            keep_alive=spec.keep_alive,
            embedding=embedding,
            depends_on=(spec.name,),
        )
    )


def _implicit_bases(manifest: Manifest, b: _Builder) -> set[Key]:
    """Pull undeclared bases of custom models when missing; return every base in use."""
    declared = {s.name.key for s in manifest.models if s.kind != "absent"}
    bases: set[Key] = set()
    for spec in manifest.models:
        base = spec.base
        if base is None or spec.kind == "absent":
            continue
        bases.add(base.key)
        if base.key in declared or b.state.find(base) is not None or b.acting_on(base):
            continue
        drift = Drift(
            "missing", base, expected="present", actual="absent", detail=f"base of {spec.name}"
        )
        b.actions.append(Action("pull", base, drift, insecure=spec.insecure))
    return bases


def keep_matches(name: ModelName, patterns: tuple[str, ...]) -> bool:
    """A keep pattern matches the shown name, with or without its tag, ignoring case."""
    shown = name.display.lower()
    untagged = shown.rsplit(":", 1)[0]
    return any(fnmatchcase(shown, p.lower()) or fnmatchcase(untagged, p.lower()) for p in patterns)


def _plan_deletions(manifest: Manifest, b: _Builder, bases: set[Key], prune: bool) -> list[Drift]:
    wanted = {s.name.key for s in manifest.models if s.kind != "absent"}
    wanted |= {a.key for s in manifest.models for a in s.aliases}
    absent = {s.name.key for s in manifest.models if s.kind == "absent"}
    extras: list[Drift] = []
    for model in b.state.models:
        key = model.name.key
        if key in wanted:
            continue
        if key in bases:
            if key in absent:
                b.failures.append(
                    Failure(model.name, "declared absent but a custom model is built from it")
                )
            continue
        if key in absent:
            drift = Drift("unwanted", model.name, expected="absent", actual="present")
        elif prune and not keep_matches(model.name, manifest.prune.keep):
            drift = Drift(
                "unwanted",
                model.name,
                expected="absent",
                actual="present",
                detail="undeclared (pruning on)",
            )
        else:
            extras.append(Drift("extra", model.name, expected="undeclared", actual="present"))
            continue
        b.actions.append(Action("delete", model.name, drift))
    return extras


def _ordered(actions: list[Action]) -> tuple[Action, ...]:
    """Sort by phase; inside the create phase, a base before what is built from it."""
    creates = [a for a in actions if a.kind == "create"]
    placed: list[Action] = []
    pending = list(creates)
    while pending:
        ready = [
            a
            for a in pending
            if not any(d.key == other.model.key for d in a.depends_on for other in pending)
        ]
        if not ready:  # a cycle: validation rejects these; keep declaration order
            ready = pending[:1]
        placed += ready
        pending = [a for a in pending if a not in ready]
    rank = {id(a): i for i, a in enumerate(placed)}
    return tuple(sorted(actions, key=lambda a: (_ORDER[a.kind], rank.get(id(a), 0))))


def make_plan(manifest: Manifest, state: ServerState, *, prune: bool | None = None) -> Plan:
    """Diff the manifest against the observed server state."""
    b = _Builder(state)
    present = [s for s in manifest.models if s.kind != "absent"]
    for spec in present:
        have = state.find(spec.name)
        if spec.kind == "registry":
            _plan_registry(b, spec, have)
    bases = _implicit_bases(manifest, b)
    for spec in present:
        if spec.kind == "custom":
            _plan_custom(b, spec, state.find(spec.name))
    for spec in present:
        _plan_aliases(b, spec, state.find(spec.name))
    for spec in present:
        _plan_warm(b, spec)
    prune_on = manifest.prune.enabled if prune is None else prune
    extras = _plan_deletions(manifest, b, bases, prune_on)
    return Plan(
        server_version=state.version,
        actions=_ordered(b.actions),
        in_sync=tuple(b.in_sync),
        extras=tuple(extras),
        failures=tuple(b.failures),
    )


def make_warm_plan(manifest: Manifest, state: ServerState) -> Plan:
    """Only warm-ups: every `warm: true` model, loaded or not (refreshes its expiry)."""
    actions: list[Action] = []
    failures: list[Failure] = []
    for spec in manifest.models:
        if not spec.warm or spec.kind == "absent":
            continue
        if state.find(spec.name) is None:
            failures.append(Failure(spec.name, "not on the server; run apply first"))
            continue
        show = state.shows.get(spec.name.key)
        drift = Drift("missing", spec.name, expected="loaded", detail="warm-up")
        embedding = None if show is None else "embedding" in show.capabilities
        actions.append(
            Action("warm", spec.name, drift, keep_alive=spec.keep_alive, embedding=embedding)
        )
    return Plan(state.version, tuple(actions), (), failures=tuple(failures))
