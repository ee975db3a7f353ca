"""The one pipeline every entry point runs: lock -> connect -> observe -> plan -> apply.

CLI commands and the Python API (and the integrations built on them) call
these functions and render what they return; nothing else orchestrates. The
lock beside the manifest (`<stem>.lock.json`) is read by every one of them:
its digests pin registry models, and where it disagrees with the manifest
that is said (a note in a plan, drift of kind "lock" in Planned.drifts; with
`locked`, a refusal before any change).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from provisioner.custom.hash_cache import HashCache
from provisioner.errors import LockError, Refused
from provisioner.manifest.lock import Disagreement, apply_lock, read_lock
from provisioner.manifest.targets import for_labels, select
from provisioner.names import Key
from provisioner.reconcile.actions import Delete, Drift, Pull
from provisioner.reconcile.apply import ApplyOptions, Result, apply_plan
from provisioner.reconcile.downloads import with_downloads
from provisioner.reconcile.observe import observe_server
from provisioner.reconcile.plan import Plan, make_plan, make_warm_plan
from provisioner.server.client import DEFAULT_STALL, Client
from provisioner.server.connect import connect
from provisioner.server.hosts import ResolvedHost
from provisioner.server.retry import RetryCallback
from provisioner.types.manifest import Manifest, ModelSpec
from provisioner.types.state import RemoteManifest, ServerState
from provisioner.types.wire import ProgressCallback, RunningModel


@dataclass(frozen=True)
class Settings:
    """What an entry point may choose; the same names in the CLI and the Python API."""

    host: str | None = None
    check_updates: bool = False
    prune: bool | None = None  # None: the manifest's prune.enabled
    locked: bool = False
    parallel: int = 2
    stall_timeout: float = DEFAULT_STALL
    targets: tuple[str, ...] = ()  # --target: only these models and what they need
    # The server's inventory labels: models whose selector they miss are not planned
    # here (nor pruned). A server given by --host has none.
    labels: tuple[tuple[str, str], ...] = ()
    host_source: str = "--host"  # where `host` came from, for the hint when it is down
    from_layout: str | None = None  # apply --from oci:PATH: pull from this layout folder


@dataclass(frozen=True)
class LockUse:
    """The lock a run read, and where it disagrees with the manifest."""

    path: Path
    pins: int
    disagreements: tuple[Disagreement, ...] = ()


@dataclass(frozen=True)
class Planned:
    manifest: Manifest  # as declared (the lock's pins are applied inside plan)
    target: ResolvedHost
    lock: LockUse | None
    state: ServerState
    plan: Plan
    # Registry manifests of the plan's pulls (what they download; apply orders by size).
    pull_manifests: Mapping[Key, RemoteManifest] = field(default_factory=dict)

    @property
    def drifts(self) -> tuple[Drift, ...]:
        """The plan's drift with the lock's disagreements (kind "lock") before the extras:
        a manifest that differs from its lock is drift even where the server matches."""
        lock = self.lock.disagreements if self.lock else ()
        found = [d for d in self.plan.drifts if d.kind != "extra"]
        found += [Drift("lock", d.model, detail=d.what) for d in lock]
        return (*found, *self.plan.extras)


ApplyOutcome = Literal["in-sync", "dry-run", "done", "failed", "cancelled"]


@dataclass(frozen=True)
class Applied:
    planned: Planned
    outcome: ApplyOutcome
    results: tuple[Result, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any action ran to completion."""
        return any(r.outcome == "done" and r.action is not None for r in self.results)


@dataclass(frozen=True)
class Hooks:
    """Callbacks an entry point gives the pipeline; every one is optional."""

    on_plan: Callable[[Planned], None] | None = None  # before any change
    on_progress: ProgressCallback | None = None
    on_result: Callable[[Result], None] | None = None
    on_retry: RetryCallback | None = None  # a request failed and will be tried again
    on_note: Callable[[str], None] | None = None  # e.g. a hash cache rebuilt (else stderr)
    # Asked before deleting undeclared models (pruning); without it they are refused.
    confirm_prune: Callable[[list[str]], bool] | None = None


@dataclass(frozen=True)
class StatusReport:
    target: ResolvedHost
    manifest: Manifest | None
    lock: LockUse | None
    state: ServerState
    running: tuple[RunningModel, ...]
    plan: Plan | None


@dataclass(frozen=True)
class _Run:
    """What one run shares: the pinned manifest, the server, one hash cache."""

    manifest: Manifest
    declared: Manifest  # as written, narrowed to this server's labels; no lock pins
    lock: LockUse | None
    target: ResolvedHost
    client: Client
    cache: HashCache = field(default_factory=HashCache)
    on_retry: RetryCallback | None = None  # registry reads report their retries too


def _pinned(manifest: Manifest, cache: HashCache, locked: bool) -> tuple[Manifest, LockUse | None]:
    lock = read_lock(manifest)
    if lock is None:
        if locked:
            raise LockError(
                f"--locked needs a lock file; run `ollama-provision lock {manifest.path}`"
            )
        return manifest, None
    pinned, problems = apply_lock(manifest, lock, cache)
    if locked and problems:
        raise Refused(tuple(str(p) for p in problems))  # before connecting: nothing can change
    return pinned, LockUse(lock.path, len(lock.registry), tuple(problems))


@contextmanager
def _run(manifest: Manifest, settings: Settings, hooks: Hooks = Hooks()) -> Iterator[_Run]:
    cache = HashCache(on_note=hooks.on_note)
    declared, elsewhere = for_labels(manifest, dict(settings.labels))
    if elsewhere:
        _note(hooks, _elsewhere_note(elsewhere, settings.labels))
    pinned, lock = _pinned(declared, cache, settings.locked)
    client, target = connect(
        declared,
        settings.host,
        stall_timeout=settings.stall_timeout,
        on_retry=hooks.on_retry,
        host_source=settings.host_source,
    )
    with client:
        yield _Run(pinned, declared, lock, target, client, cache, hooks.on_retry)


def _note(hooks: Hooks, message: str) -> None:
    if hooks.on_note is not None:
        hooks.on_note(message)
    else:
        print(f"note: {message}", file=sys.stderr)


def _elsewhere_note(elsewhere: tuple[ModelSpec, ...], labels: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(s.name.display for s in elsewhere)
    have = ", ".join(f"{k}={v}" for k, v in labels) or "no labels"
    return (
        f"{len(elsewhere)} model(s) are for other servers (selector; this one has {have}): {names}"
    )


def _plan(run: _Run, settings: Settings, *, downloads: bool = False) -> Planned:
    declared = run.declared
    manifest = run.manifest
    if settings.targets:
        manifest = select(manifest, settings.targets)
    state = observe_server(
        run.client,
        manifest,
        check_updates=settings.check_updates,
        hash_cache=run.cache,
        on_retry=run.on_retry,
    )
    if settings.targets:  # a targeted run neither prunes nor reports the rest as extra
        plan = dataclasses.replace(make_plan(manifest, state, prune=False), extras=())
    else:
        plan = make_plan(manifest, state, prune=settings.prune)
    manifests: dict[Key, RemoteManifest] = {}
    if downloads and any(isinstance(a, Pull) for a in plan.actions):
        plan, manifests = with_downloads(plan, run.client, state.remote)
    return Planned(declared, run.target, run.lock, state, plan, manifests)


def plan(manifest: Manifest, settings: Settings = Settings(), hooks: Hooks = Hooks()) -> Planned:
    """Observe the server and diff it against the manifest (and its lock); nothing changes.
    Of the hooks only on_retry is called."""
    with _run(manifest, settings, hooks) as run:
        return _plan(run, settings, downloads=True)


def apply(
    manifest: Manifest,
    settings: Settings = Settings(),
    hooks: Hooks = Hooks(),
    *,
    dry_run: bool = False,
) -> Applied:
    """Converge the server to the manifest. Deletions by pruning need `confirm_prune`;
    a model the manifest declares absent is deleted without asking. With
    `settings.locked`, any difference from the lock raises Refused before a change.
    With `settings.from_layout`, every pull comes from that OCI layout, served to the
    server on loopback for the time of the apply (the server must run on this machine)."""
    if settings.from_layout is None:
        return _apply(manifest, settings, hooks, dry_run=dry_run)
    from provisioner.mirror.serve import serve_layout

    hosts = {s.name.host.lower() for s in manifest.models if s.kind == "registry"}
    hosts |= {s.base.host.lower() for s in manifest.models if s.base is not None}
    with serve_layout(Path(settings.from_layout), hosts) as served:
        mirrored = dataclasses.replace(manifest, mirrors=served.mirrors)
        return _apply(mirrored, settings, hooks, dry_run=dry_run, check=served.check_served)


def _apply(
    manifest: Manifest,
    settings: Settings,
    hooks: Hooks,
    *,
    dry_run: bool,
    check: Callable[[], list[str]] | None = None,
) -> Applied:
    with _run(manifest, settings, hooks) as run:
        planned = _plan(run, settings, downloads=True)
        if settings.locked and planned.plan.failures:
            raise Refused(tuple(f"{f.model.display}: {f.message}" for f in planned.plan.failures))
        if hooks.on_plan is not None:
            hooks.on_plan(planned)
        if dry_run:
            return Applied(planned, "dry-run")
        if planned.plan.nothing_to_do:
            return Applied(planned, "in-sync")
        pruned = [
            a.model.display for a in planned.plan.changes if isinstance(a, Delete) and a.pruned
        ]
        if pruned and (hooks.confirm_prune is None or not hooks.confirm_prune(pruned)):
            return Applied(planned, "cancelled")
        options = _options(settings, hooks, run.cache, _pull_sizes(planned))
        options.check_source = check
        results = apply_plan(planned.plan, run.client, options)
    failed = any(r.outcome != "done" for r in results)
    return Applied(planned, "failed" if failed else "done", tuple(results))


def _options(
    settings: Settings, hooks: Hooks, cache: HashCache, sizes: Mapping[Key, int] | None = None
) -> ApplyOptions:
    return ApplyOptions(
        parallel=settings.parallel,
        on_progress=hooks.on_progress,
        on_result=hooks.on_result,
        hash_cache=cache,
        sizes=sizes or {},
    )


def _pull_sizes(planned: Planned) -> dict[Key, int]:
    """What each pull will write, from the registry manifests the plan read (one that
    could not be read leaves its pull last)."""
    return {k: m.size for k, m in planned.pull_manifests.items() if m.size}


def warm(manifest: Manifest, settings: Settings = Settings(), hooks: Hooks = Hooks()) -> Applied:
    """Load every `warm: true` model (loaded ones too: that refreshes their expiry).
    on_plan is called with the warm plan before the first load."""
    with _run(manifest, settings, hooks) as run:
        state = observe_server(run.client, run.manifest, hash_cache=run.cache)
        planned = Planned(
            run.declared, run.target, run.lock, state, make_warm_plan(run.manifest, state)
        )
        if hooks.on_plan is not None:
            hooks.on_plan(planned)
        results = apply_plan(planned.plan, run.client, _options(settings, hooks, run.cache))
    failed = any(r.outcome != "done" for r in results)
    return Applied(planned, "failed" if failed else "done", tuple(results))


def status(
    manifest: Manifest | None, settings: Settings = Settings(), hooks: Hooks = Hooks()
) -> StatusReport:
    """Every model on the server, what is loaded, and (given a manifest) what is in sync."""
    if manifest is None:
        client, target = connect(
            None,
            settings.host,
            stall_timeout=settings.stall_timeout,
            on_retry=hooks.on_retry,
            host_source=settings.host_source,
        )
        with client:
            state = observe_server(client, None)
            running = tuple(client.ps())
        return StatusReport(target, None, None, state, running, None)
    with _run(manifest, settings, hooks) as run:
        planned = _plan(run, settings)
        observed = planned.state.running
        running = observed if observed is not None else tuple(run.client.ps())
    return StatusReport(run.target, run.declared, run.lock, planned.state, running, planned.plan)
