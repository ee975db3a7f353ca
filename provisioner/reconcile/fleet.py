"""Run one job per server of a fleet, a bounded number at once.

Each server's job is the single-server pipeline (reconcile/core.py) with that
server's settings; a server that fails (down, refused, broken) fails alone:
its error becomes its outcome and the others go on.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from provisioner.fleet.inventory import Server
from provisioner.reconcile.core import Settings
from provisioner.types.manifest import Manifest

T = TypeVar("T")

DEFAULT_FLEET_PARALLEL = 4


@dataclass(frozen=True)
class ServerRun(Generic[T]):
    """What one server's job gave: a value, or the error that ended it (never both)."""

    server: Server
    value: T | None
    error: BaseException | None
    seconds: float
    notes: tuple[str, ...] = ()  # said while it ran (notes, retries), in order


def server_manifest(manifest: Manifest, server: Server) -> Manifest:
    """The manifest with the server's own headers (over the manifest's) and timeout."""
    settings = dataclasses.replace(
        manifest.server,
        host=None,  # the server's address comes from the inventory or --host
        headers={**manifest.server.headers, **server.headers},
        timeout=server.timeout if server.timeout is not None else manifest.server.timeout,
    )
    return dataclasses.replace(manifest, server=settings)


def server_settings(settings: Settings, server: Server) -> Settings:
    """The run's settings aimed at one server: its address, its labels."""
    return dataclasses.replace(
        settings,
        host=server.host,
        labels=tuple(sorted(server.labels.items())),
        host_source=server.origin,
    )


Job = Callable[[Server, Callable[[str], None]], T]


def run_fleet(
    servers: Sequence[Server],
    job: Job[T],
    *,
    parallel: int = DEFAULT_FLEET_PARALLEL,
    on_done: Callable[[ServerRun[T]], None] | None = None,
) -> list[ServerRun[T]]:
    """Run job(server, note) for every server, `parallel` at once; results in the
    servers' order. on_done is called as each finishes, one call at a time."""
    lock = threading.Lock()

    def one(server: Server) -> ServerRun[T]:
        notes: list[str] = []
        started = time.monotonic()
        value: T | None = None
        error: BaseException | None = None
        try:
            value = job(server, notes.append)
        except Exception as e:  # one server's failure is its outcome, not the fleet's
            error = e
        run = ServerRun(server, value, error, time.monotonic() - started, tuple(notes))
        if on_done is not None:
            with lock:
                on_done(run)
        return run

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(servers)))) as pool:
        return list(pool.map(one, servers))


@dataclass(frozen=True)
class Outcome:
    """One server's answer, ready for every view."""

    code: int  # the exit code the single-server command would give
    result: str  # a summary word: "in sync", "changed", "drift", "failed"...
    actions: int
    version: str | None
    lines: tuple[str, ...]  # its section of the text output
    document: dict[str, Any]  # its own document (views/json_docs.py)
    errors: tuple[str, ...] = ()  # one-line errors, also said on stderr
    value: Any = None  # the pipeline's typed result (Planned, Applied, StatusReport)
    checked_at: float = field(default_factory=time.time)
