"""The plan: a pure diff of a Manifest against a ServerState. No I/O here.

Each action carries the drift that caused it; actions come in the order
apply runs them: pulls, creates (a base before what is built from it),
copies, warm-ups, deletes last. A base of a custom model is an implicit
dependency: pulled when missing, never pruned. Problems found while observing
(a registry that cannot be read, a pin it no longer serves) become failures
of that model, not of the plan. Every step is linear in the number of models:
lookups go through the state's index by normalized name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from provisioner.custom.definition import definition_differences
from provisioner.errors import ServerError, registry_refused
from provisioner.manifest.mirrors import mirror_name, route
from provisioner.names import Key, ModelName
from provisioner.reconcile.actions import (
    Action,
    Change,
    Copy,
    Create,
    Delete,
    Drift,
    DriftKind,
    Pin,
    Pull,
    Source,
    Warm,
    depends_on,
)
from provisioner.types.manifest import Manifest, Mirror, ModelSpec
from provisioner.types.state import ServerModel, ServerState, pin_matches

_PHASE: dict[type, int] = {Pull: 0, Create: 1, Copy: 2, Warm: 3, Delete: 4}


@dataclass(frozen=True)
class Failure:
    """A declared model that cannot be converged, found before any action."""

    model: ModelName
    message: str
    drift: Drift | None = None
    # The registry answered no (no such model or tag, a refusal, a pin it no longer
    # serves): drift cannot be the whole answer, so drift exits 1 as plan does.
    refused: bool = False


@dataclass(frozen=True)
class Plan:
    server_version: str
    actions: tuple[Action, ...]
    in_sync: tuple[ModelName, ...]
    extras: tuple[Drift, ...] = ()  # reported only: undeclared, pruning off
    failures: tuple[Failure, ...] = ()
    # Bytes the pulls will download (each blob once), None when not known: set by
    # reconcile/downloads.py, which asks the registries and the server.
    download_bytes: int | None = None
    # Registries this machine could not reach to check a pull (the server may reach
    # them): one warning each, and the pulls stand.
    unchecked: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        """The actions that change what the server holds (warm-ups are not changes)."""
        return tuple(a for a in self.actions if not isinstance(a, Warm))

    @property
    def warmups(self) -> tuple[Warm, ...]:
        return tuple(a for a in self.actions if isinstance(a, Warm))

    @property
    def drifts(self) -> tuple[Drift, ...]:
        found = [a.drift for a in self.changes]
        found += [f.drift for f in self.failures if f.drift is not None]
        return (*found, *self.extras)

    @property
    def problems(self) -> tuple[Failure, ...]:
        """The failures that are not drift alone: what makes drift exit 1."""
        return tuple(f for f in self.failures if f.drift is None or f.refused)

    @property
    def nothing_to_do(self) -> bool:
        return not self.actions and not self.failures


@dataclass
class _Builder:
    state: ServerState
    mirrors: Mapping[str, Mirror] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    in_sync: list[ModelName] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    changing: set[Key] = field(default_factory=set)  # models a non-warm action touches

    def add(self, action: Action) -> None:
        self.actions.append(action)
        if not isinstance(action, Warm):
            self.changing.add(action.model.key)

    def acting_on(self, name: ModelName) -> bool:
        return name.key in self.changing

    def pull(self, name: ModelName, drift: Drift, insecure: bool, pin: Pin | None = None) -> None:
        """A pull, from the mirror of the model's registry when the manifest names one."""
        mirror = route(name, self.mirrors)
        if mirror is None:
            self.add(Pull(name, drift, insecure=insecure, pin=pin))
            return
        source = Source(mirror_name(name, mirror), mirror.where)
        self.add(Pull(name, drift, insecure=mirror.insecure, pin=pin, source=source))


def _plan_registry(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    name, pin = spec.name, spec.digest
    remote = b.state.remote.get(name.key)
    if isinstance(remote, ServerError):
        # Missing is known without the registry; only the pin or update check is not.
        missing = Drift("missing", name, "present", "absent") if have is None else None
        if registry_refused(remote):
            b.failures.append(Failure(name, remote.reason(), missing, refused=True))
        else:
            message = f"cannot read the registry: {remote.reason()}"
            b.failures.append(Failure(name, message, missing))
        return
    if have is not None and (pin is None or pin_matches(spec, have)):
        if remote is None or remote.matches(have.digest):
            b.in_sync.append(name)
            return
        drift = Drift("outdated", name, expected=remote.digest, actual=have.digest)
        b.pull(name, drift, spec.insecure)
        return
    if pin is None:
        b.pull(name, Drift("missing", name, "present", "absent"), spec.insecure)
        return
    kind: DriftKind = "missing" if have is None else "digest-mismatch"
    origin = f"locked in {spec.pinned_by}" if spec.pinned_by else None
    drift = Drift(kind, name, pin, have.digest if have else "absent", detail=origin)
    served = remote is not None and pin in (remote.digest, remote.reserialized_digest)
    if served and have is not None and remote is not None and remote.matches(have.digest):
        b.in_sync.append(name)  # same manifest, hashed the other way (v0.11.4)
        return
    if not served or remote is None:
        serves = remote.digest if remote is not None else "nothing"
        fix = (
            "run `ollama-provision lock` to accept the registry's digest"
            if spec.pinned_by
            else "update the pin or push the pinned model"
        )
        pinned = f"locked to {pin} in {spec.pinned_by}" if spec.pinned_by else f"pinned {pin}"
        message = f"{pinned} but the registry serves {serves} for tag {name.tag}; {fix}"
        b.failures.append(Failure(name, message, drift, refused=True))
        return
    b.pull(name, drift, spec.insecure, Pin(pin, (remote.digest, remote.reserialized_digest)))


def _plan_custom(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    assert spec.create is not None  # the loader sets it for every custom model
    base = spec.base
    if have is None:
        drift = Drift("missing", spec.name, expected="present", actual="absent")
        b.add(Create(spec.name, drift, spec.create, base))
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
    b.add(Create(spec.name, drift, spec.create, base))


def _plan_aliases(b: _Builder, spec: ModelSpec, have: ServerModel | None) -> None:
    source_changes = b.acting_on(spec.name)
    for alias in spec.aliases:
        current = b.state.find(alias)
        if current is None:
            drift = Drift("missing", alias, expected=f"copy of {spec.name}", actual="absent")
        elif source_changes or have is None or current.digest != have.digest:
            expected = have.digest if have and not source_changes else f"copy of {spec.name}"
            drift = Drift("alias-stale", alias, expected=expected, actual=current.digest)
        else:
            b.in_sync.append(alias)
            continue
        b.add(Copy(alias, drift, source=spec.name))


def _plan_warm(b: _Builder, spec: ModelSpec) -> None:
    if not spec.warm:
        return
    changed = b.acting_on(spec.name)
    if b.state.is_loaded(spec.name) and not changed:
        return
    show = b.state.shows.get(spec.name.key)
    embedding = None if show is None else "embedding" in show.capabilities
    b.add(Warm(spec.name, spec.keep_alive, embedding, after_change=changed))


def _implicit_bases(manifest: Manifest, b: _Builder) -> set[Key]:
    """Pull undeclared bases of custom models when missing; return every base in use."""
    present = [s for s in manifest.models if s.kind != "absent"]
    declared = {s.name.key for s in present} | {a.key for s in present for a in s.aliases}
    bases: set[Key] = set()
    for spec in manifest.models:
        base = spec.base
        if base is None or spec.kind == "absent":
            continue
        bases.add(base.key)
        if base.key in declared or b.state.find(base) is not None or b.acting_on(base):
            continue
        drift = Drift("missing", base, "present", "absent", detail=f"base of {spec.name}")
        b.pull(base, drift, spec.insecure)
    return bases


def keep_matches(name: ModelName, patterns: tuple[str, ...]) -> bool:
    """A keep pattern matches the shown name, with or without its tag, ignoring case."""
    shown = name.display.lower()
    untagged = shown.rsplit(":", 1)[0]
    return any(fnmatchcase(shown, p.lower()) or fnmatchcase(untagged, p.lower()) for p in patterns)


def _leftovers(manifest: Manifest, b: _Builder, bases: set[Key]) -> dict[Key, ModelName]:
    """Mirror names of the models pulled through a mirror (declared or bases), each
    with its canonical name: a tag under such a name is what a pull through the
    mirror left behind when it stopped between its copy and its delete."""
    names = [s.name for s in manifest.models if s.kind == "registry"]
    names += [s.base for s in manifest.models if s.base is not None and s.base.key in bases]
    found: dict[Key, ModelName] = {}
    for name in names:
        mirror = route(name, b.mirrors)
        if mirror is not None:
            found.setdefault(mirror_name(name, mirror).key, name)
    return found


def _plan_deletions(manifest: Manifest, b: _Builder, bases: set[Key], prune: bool) -> list[Drift]:
    wanted = {s.name.key for s in manifest.models if s.kind != "absent"}
    wanted |= {a.key for s in manifest.models for a in s.aliases}
    absent = {s.name.key for s in manifest.models if s.kind == "absent"}
    leftovers = _leftovers(manifest, b, bases)
    extras: list[Drift] = []
    for model in b.state.models:
        key = model.name.key
        if key in wanted:
            continue
        if key in bases:
            if key in absent:
                message = "declared absent but a custom model is built from it"
                b.failures.append(Failure(model.name, message))
            continue
        canonical = leftovers.get(key)
        if canonical is not None:
            if not b.acting_on(canonical):  # else its pull copies and deletes this tag
                detail = f"left over from a pull of {canonical} through its mirror"
                drift = Drift("unwanted", model.name, "absent", "present", detail=detail)
                b.add(Delete(model.name, drift))
            continue
        if key in absent:
            drift = Drift("unwanted", model.name, expected="absent", actual="present")
            b.add(Delete(model.name, drift))
        elif prune and not keep_matches(model.name, manifest.prune.keep):
            detail = "undeclared (pruning on)"
            drift = Drift("unwanted", model.name, "absent", "present", detail=detail)
            b.add(Delete(model.name, drift, pruned=True))
        else:
            extras.append(Drift("extra", model.name, actual="present"))
    return extras


def _build_order(actions: list[Action]) -> dict[int, int]:
    """Rank creates, and the copies they build on, so that what a model is built from
    is made first (Kahn's algorithm: linear in actions and edges)."""
    creates = [a for a in actions if isinstance(a, Create)]
    bases = {c.base.key for c in creates if c.base is not None}
    nodes: list[Action] = [
        a
        for a in actions
        if isinstance(a, Create) or (isinstance(a, Copy) and a.model.key in bases)
    ]
    by_key = {a.model.key: a for a in nodes}
    waiting_on: dict[Key, list[Action]] = {}
    blockers: dict[int, int] = {}
    for a in nodes:
        inside = [d for d in depends_on(a) if d.key in by_key and d.key != a.model.key]
        blockers[id(a)] = len(inside)
        for d in inside:
            waiting_on.setdefault(d.key, []).append(a)
    ready = [a for a in nodes if blockers[id(a)] == 0]
    rank: dict[int, int] = {}
    while ready:
        a = ready.pop(0)
        rank[id(a)] = len(rank)
        for after in waiting_on.get(a.model.key, []):
            blockers[id(after)] -= 1
            if blockers[id(after)] == 0:
                ready.append(after)
    for a in nodes:  # a cycle: validation rejects these; keep declaration order
        rank.setdefault(id(a), len(rank))
    return rank


def _ordered(actions: list[Action]) -> tuple[Action, ...]:
    rank = _build_order(actions)
    # A copy that a create builds on runs in the create phase, in its place.
    phase = {id(a): _PHASE[Create] if id(a) in rank else _PHASE[type(a)] for a in actions}
    return tuple(sorted(actions, key=lambda a: (phase[id(a)], rank.get(id(a), 0))))


def make_plan(manifest: Manifest, state: ServerState, *, prune: bool | None = None) -> Plan:
    """Diff the manifest against the observed server state."""
    b = _Builder(state, manifest.mirrors)
    present = [(s, state.find(s.name)) for s in manifest.models if s.kind != "absent"]
    for spec, have in present:
        if spec.kind == "registry":
            _plan_registry(b, spec, have)
    bases = _implicit_bases(manifest, b)
    for spec, have in present:
        if spec.kind == "custom":
            _plan_custom(b, spec, have)
    for spec, have in present:
        _plan_aliases(b, spec, have)
    for spec, _ in present:
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
        embedding = None if show is None else "embedding" in show.capabilities
        actions.append(
            Warm(spec.name, spec.keep_alive, embedding, loaded=state.is_loaded(spec.name))
        )
    return Plan(state.version, tuple(actions), (), failures=tuple(failures))
