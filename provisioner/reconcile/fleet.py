"""The core over a fleet: the single-server pipeline per server, a bounded number at once.

Each server runs plan, apply, status or warm (core.py) with its own headers,
timeout, address and labels; a server that fails (down, refused, broken)
fails alone: its error becomes its outcome and the others go on. What comes
back is typed data (one Outcome per server, in the servers' order); the views
render it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from provisioner.fleet.inventory import Server
from provisioner.reconcile import core
from provisioner.reconcile.apply import Result
from provisioner.server.retry import RetryEvent
from provisioner.types.manifest import Manifest

T = TypeVar("T")

DEFAULT_FLEET_PARALLEL = 4

Note = str | RetryEvent  # said while a server ran: a note from the pipeline, or a retry
Say = Callable[[Note], None]
Job = Callable[[Server, Say], T]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one server's run gave: a value, or the error that ended it (never both)."""

    server: Server
    value: T | None
    error: BaseException | None
    seconds: float
    notes: tuple[Note, ...] = ()  # said while it ran, in order
    checked_at: float = field(default_factory=time.time)  # when it ended (Unix time)


@dataclass(frozen=True)
class FleetApplied:
    """One server's apply, with what the views of a fleet need beyond Applied."""

    applied: core.Applied
    reported: tuple[Result, ...]  # the results in the order they finished
    refused: tuple[str, ...] = ()  # undeclared models pruning would delete, refused (no --yes)


def server_manifest(manifest: Manifest, server: Server) -> Manifest:
    """The manifest with the server's own headers (over the manifest's) and timeout."""
    settings = dataclasses.replace(
        manifest.server,
        host=None,  # the server's address comes from the inventory or --host
        headers={**manifest.server.headers, **server.headers},
        timeout=server.timeout if server.timeout is not None else manifest.server.timeout,
    )
    return dataclasses.replace(manifest, server=settings)


def server_settings(settings: core.Settings, server: Server) -> core.Settings:
    """The run's settings aimed at one server: its address, its labels."""
    return dataclasses.replace(
        settings,
        host=server.host,
        labels=tuple(sorted(server.labels.items())),
        host_source=server.origin,
    )


def run_fleet(
    servers: Sequence[Server],
    job: Job[T],
    *,
    parallel: int = DEFAULT_FLEET_PARALLEL,
    on_done: Callable[[Outcome[T]], None] | None = None,
) -> list[Outcome[T]]:
    """Run job(server, say) for every server, `parallel` at once; outcomes in the
    servers' order. on_done is called as each finishes, one call at a time."""
    lock = threading.Lock()

    def one(server: Server) -> Outcome[T]:
        notes: list[Note] = []
        started = time.monotonic()
        value: T | None = None
        error: BaseException | None = None
        try:
            value = job(server, notes.append)
        except Exception as e:  # one server's failure is its outcome, not the fleet's
            error = e
        outcome = Outcome(server, value, error, time.monotonic() - started, tuple(notes))
        if on_done is not None:
            with lock:
                on_done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(servers)))) as pool:
        return list(pool.map(one, servers))


# ---- the pipeline's commands, one job per server -----------------------------------------


def _hooks(say: Say) -> core.Hooks:
    return core.Hooks(on_note=say, on_retry=say)


def plan_job(manifest: Manifest, settings: core.Settings) -> Job[core.Planned]:
    """plan and drift: observe and plan, change nothing."""

    def job(server: Server, say: Say) -> core.Planned:
        return core.plan(
            server_manifest(manifest, server), server_settings(settings, server), _hooks(say)
        )

    return job


def apply_job(
    manifest: Manifest, settings: core.Settings, *, dry_run: bool, allow_deletions: bool
) -> Job[FleetApplied]:
    """apply: no prompt on a fleet, so pruning deletes only with allow_deletions (--yes)."""

    def job(server: Server, say: Say) -> FleetApplied:
        reported: list[Result] = []
        refused: list[str] = []

        def consent(names: list[str]) -> bool:
            if not allow_deletions:
                refused.extend(names)
            return allow_deletions

        hooks = dataclasses.replace(_hooks(say), on_result=reported.append, confirm_prune=consent)
        applied = core.apply(
            server_manifest(manifest, server), server_settings(settings, server), hooks,
            dry_run=dry_run,
        )  # fmt: skip
        return FleetApplied(applied, tuple(reported), tuple(refused))

    return job


def status_job(manifest: Manifest | None, settings: core.Settings) -> Job[core.StatusReport]:
    def job(server: Server, say: Say) -> core.StatusReport:
        aimed = server_manifest(manifest, server) if manifest is not None else None
        return core.status(aimed, server_settings(settings, server), _hooks(say))

    return job


def warm_job(manifest: Manifest, settings: core.Settings) -> Job[core.Applied]:
    def job(server: Server, say: Say) -> core.Applied:
        return core.warm(
            server_manifest(manifest, server), server_settings(settings, server), _hooks(say)
        )

    return job
