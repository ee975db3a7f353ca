"""Execute a Plan: pulls in parallel (bounded), then creates, copies, warm-ups, deletes.

A failed action skips only the actions that depend on its model; the rest
goes on, and every action gets a Result. Ctrl-C stops the streams at their
next line and re-raises KeyboardInterrupt; Ollama keeps partial downloads,
so a rerun resumes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from provisioner.custom.blobs import HashCache, LocalFileError, ensure_blobs, remember_build
from provisioner.custom.modelfile import create_request
from provisioner.errors import ProvisionError, ServerError, VersionTooOld
from provisioner.names import ModelName
from provisioner.reconcile.observe import Key
from provisioner.reconcile.plan import Action, Plan
from provisioner.server.client import Client, Progress, ProgressCallback

Outcome = Literal["done", "failed", "skipped"]


class Cancelled(ProvisionError):
    """The user interrupted the apply."""


@dataclass(frozen=True)
class Result:
    kind: str  # the action's kind, or "check" for a failure found while planning
    model: ModelName
    outcome: Outcome
    seconds: float = 0.0
    error: str | None = None
    detail: str | None = None
    action: Action | None = None


@dataclass
class ApplyOptions:
    parallel: int = 2
    on_progress: ProgressCallback | None = None
    on_result: Callable[[Result], None] | None = None
    hash_cache: HashCache | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


def version_tuple(version: str) -> tuple[int, ...] | None:
    """(major, minor, patch) or None for unknown/dev builds (0.0.0)."""
    core = version.lstrip("v").split("-")[0].split("+")[0]
    try:
        parts = tuple(int(p) for p in core.split("."))
    except ValueError:
        return None
    return None if not any(parts) else parts


class _Runner:
    def __init__(self, client: Client, plan: Plan, options: ApplyOptions) -> None:
        self.client = client
        self.plan = plan
        self.options = options
        self.cache = options.hash_cache or HashCache()
        self.broken: set[Key] = set()  # models whose action failed or was skipped
        self.lock = threading.Lock()

    def progress(self, event: Progress) -> None:
        if self.options.cancel.is_set():
            raise Cancelled("interrupted")
        if self.options.on_progress is not None:
            self.options.on_progress(event)

    def run(self, action: Action) -> Result:
        blocked = [d for d in action.depends_on if d.key in self.broken]
        if blocked:
            result = Result(
                action.kind,
                action.model,
                "skipped",
                error=f"{blocked[0]} did not converge",
                action=action,
            )
        else:
            started = time.monotonic()
            try:
                detail = getattr(self, f"_{action.kind}")(action)
                result = Result(
                    action.kind,
                    action.model,
                    "done",
                    time.monotonic() - started,
                    detail=detail,
                    action=action,
                )
            except (ServerError, LocalFileError) as e:
                result = Result(
                    action.kind,
                    action.model,
                    "failed",
                    time.monotonic() - started,
                    error=self._explain(e),
                    action=action,
                )
        if result.outcome != "done":
            with self.lock:
                self.broken.add(action.model.key)
        if self.options.on_result is not None:
            self.options.on_result(result)
        return result

    def _explain(self, e: ServerError | LocalFileError) -> str:
        if isinstance(e, VersionTooOld):
            return (
                f"{e.message} (server runs Ollama {self.plan.server_version}); upgrade the server"
            )
        return e.message

    # -- one method per action kind ---------------------------------------

    def _pull(self, action: Action) -> str | None:
        name = action.model.display
        self.client.pull(name, insecure=action.insecure, on_progress=self.progress)
        if not action.accept_digests:
            return None
        got = next((t.digest for t in self.client.tags() if t.name.lower() == name.lower()), "")
        if got not in action.accept_digests:
            raise ServerError(
                f"pulled sha256:{got}, not the pinned {action.expected_digest}: "
                "the tag moved during the apply; rerun",
                model=name,
            )
        return None

    def _create(self, action: Action) -> str | None:
        spec = action.create
        assert spec is not None
        name = action.model.display
        required = version_tuple(spec.requires or "")
        server = version_tuple(self.plan.server_version)
        if required and server and server < required:
            raise VersionTooOld(
                f"requires Ollama {spec.requires} but the server runs {self.plan.server_version}; "
                "upgrade the server",
                model=name,
            )
        files = (
            ensure_blobs(self.client, Path(spec.from_), self.cache, self.progress)
            if spec.from_is_path
            else {}
        )
        adapters: dict[str, str] = {}
        for adapter in spec.adapters:
            adapters.update(ensure_blobs(self.client, Path(adapter), self.cache, self.progress))
        body = create_request(spec, name, files=files or None, adapters=adapters or None)
        try:
            self.client.create(body, on_progress=self.progress)
        except ServerError:
            if action.drift.kind == "missing":
                self._remove_half_made(name)
            raise
        remember_build(self.client, self.cache, spec, name, files, adapters)
        return None

    def _remove_half_made(self, name: str) -> None:
        """v0.11.4 can write a model without weights after a failed create: remove it."""
        with contextlib.suppress(ServerError):
            self.client.delete(name)

    def _copy(self, action: Action) -> str | None:
        assert action.source is not None
        self.client.copy(action.source.display, action.model.display)
        return None

    def _warm(self, action: Action) -> str | None:
        name = action.model.display
        embedding = action.embedding
        if embedding is None:
            embedding = "embedding" in self.client.show(name).capabilities
        started = time.monotonic()
        self.client.load(name, keep_alive=action.keep_alive, embedding=embedding)
        loaded = time.monotonic() - started
        running = {r.name.lower(): r for r in self.client.ps()}
        entry = running.get(name.lower())
        if entry is None:
            raise ServerError("loaded, but /api/ps does not list it", model=name)
        return f"loaded in {loaded:.1f}s, expires {entry.expires_at}"

    def _delete(self, action: Action) -> str | None:
        name = action.model.display
        self.client.unload(name)  # a loaded model would keep running after delete
        self.client.delete(name)
        return None


def apply_plan(plan: Plan, client: Client, options: ApplyOptions | None = None) -> list[Result]:
    """Run every action of the plan; return the failures found while planning, then one
    Result per action in plan order."""
    opts = options or ApplyOptions()
    runner = _Runner(client, plan, opts)
    results: list[Result] = []
    for failure in plan.failures:
        result = Result("check", failure.model, "failed", error=failure.message)
        runner.broken.add(failure.model.key)
        results.append(result)
        if opts.on_result is not None:
            opts.on_result(result)
    pulls = [a for a in plan.actions if a.kind == "pull"]
    by_action: dict[int, Result] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, opts.parallel))
    try:
        futures = {pool.submit(runner.run, a): i for i, a in enumerate(pulls)}
        wait(futures)
        for future, i in futures.items():
            by_action[id(pulls[i])] = future.result()
        for action in plan.actions:
            if action.kind != "pull":
                by_action[id(action)] = runner.run(action)
    except (KeyboardInterrupt, Cancelled):
        opts.cancel.set()  # in-flight streams stop at their next line
        pool.shutdown(wait=True, cancel_futures=True)
        raise KeyboardInterrupt from None
    finally:
        pool.shutdown(wait=True)
    return results + [by_action[id(a)] for a in plan.actions]
