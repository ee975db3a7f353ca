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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from provisioner.custom.hash_cache import HashCache
from provisioner.custom.modelfile.request import create_request
from provisioner.custom.upload import ensure_blobs, remember_build
from provisioner.errors import Cancelled, LocalFileError, NotFound, ServerError, VersionTooOld
from provisioner.names import Key, ModelName
from provisioner.reconcile.actions import (
    Action,
    Copy,
    Create,
    Delete,
    Pull,
    Source,
    Warm,
    depends_on,
    where_insecure,
)
from provisioner.reconcile.plan import Plan
from provisioner.server.client import Client
from provisioner.types.wire import Progress, ProgressCallback
from provisioner.versions import older_than

Outcome = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Result:
    kind: str  # the action's kind, or "check" for a failure found while planning
    model: ModelName
    outcome: Outcome
    seconds: float = 0.0
    error: str | None = None
    detail: str | None = None
    action: Action | None = None
    expires_at: str | None = None  # a warm-up: when the model leaves memory (RFC 3339)


@dataclass
class ApplyOptions:
    parallel: int = 2
    on_progress: ProgressCallback | None = None
    on_result: Callable[[Result], None] | None = None
    hash_cache: HashCache | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    sizes: Mapping[Key, int] = field(default_factory=dict)  # bytes a pull writes, if known
    # apply --from oci:: the digests of blobs served that do not match their bytes
    check_source: Callable[[], list[str]] | None = None


class _Runner:
    def __init__(self, client: Client, plan: Plan, options: ApplyOptions) -> None:
        self.client = client
        self.plan = plan
        self.options = options
        self.cache = options.hash_cache or HashCache()
        self.broken: set[Key] = set()  # models whose action failed or was skipped
        self.lock = threading.Lock()
        self.renaming = threading.Lock()  # pulls through a mirror: copy and delete in turn

    def progress(self, event: Progress) -> None:
        if self.options.cancel.is_set():
            raise Cancelled("interrupted")
        if self.options.on_progress is not None:
            self.options.on_progress(event)

    def run(self, action: Action) -> Result:
        blocked = [d for d in depends_on(action) if d.key in self.broken]
        started = time.monotonic()
        if blocked:
            error = f"{blocked[0]} did not converge"
            result = Result(action.kind, action.model, "skipped", error=error, action=action)
        else:
            try:
                detail, expires = self.execute(action)
                seconds = time.monotonic() - started
                result = Result(
                    action.kind, action.model, "done", seconds, None, detail, action, expires
                )
            except (ServerError, LocalFileError) as e:
                seconds = time.monotonic() - started
                error = self._explain(e, action)
                result = Result(action.kind, action.model, "failed", seconds, error, None, action)
        if result.outcome != "done":
            with self.lock:
                self.broken.add(action.model.key)
        if self.options.on_result is not None:
            self.options.on_result(result)
        return result

    def execute(self, action: Action) -> tuple[str | None, str | None]:
        """Run one action; (detail, expiry of a warm-up)."""
        match action:
            case Pull():
                self._pull(action)
            case Create():
                self._create(action)
            case Copy(model=alias, source=source):
                self.client.copy(source.display, alias.display)
            case Warm():
                return self._warm(action)
            case Delete(model=model):
                self.client.unload(model.display)  # a loaded model would keep running
                self.client.delete(model.display)
        return None, None

    def _explain(self, e: ServerError | LocalFileError, action: Action) -> str:
        if isinstance(e, LocalFileError):
            return e.message
        if isinstance(e, VersionTooOld):
            return (
                f"{e.reason()} (server runs Ollama {self.plan.server_version}); upgrade the server"
            )
        return explain(e, action, self.options.check_source)

    def _pull(self, action: Pull) -> None:
        name = action.model.display
        if action.source is None:
            self.client.pull(name, insecure=action.insecure, on_progress=self.progress)
        else:
            self._pull_through(action, action.source)
        if action.pin is None:
            return
        got = next((t.digest for t in self.client.tags() if t.name.lower() == name.lower()), "")
        if got not in action.pin.accept:  # both "sha256:<hex>" (Client.tags spells it so)
            raise ServerError(
                f"pulled {got}, not the pinned {action.pin.digest}: "
                "the tag moved during the apply; rerun",
                model=name,
            )

    def _pull_through(self, action: Pull, source: Source) -> None:
        """Pull the mirror's copy, copy it to the canonical name, delete the copy's tag.
        Stopped in between, the mirror-named tag stays: the next plan pulls again (the
        blobs are there) while the canonical name is missing or old, else deletes it."""
        name, copy = action.model.display, source.name.display
        try:
            self.client.pull(copy, insecure=action.insecure, on_progress=self.progress)
        except ServerError as e:
            e.message = f"pulling {copy} from mirror {source.registry}: {e.message}"
            raise
        # One at a time: Ollama prunes manifest folders and layers on delete, and two
        # deletes at once can fail each other (a 500, then 404 on the retry).
        with self.renaming:
            self._copy_and_delete(copy, name)

    def _copy_and_delete(self, copy: str, name: str) -> None:
        self.client.copy(copy, name)
        try:
            self.client.delete(copy)
        except NotFound:
            pass  # gone already (a retried delete whose first attempt removed it)
        except ServerError as e:
            raise ServerError(
                f"copied to {name}, but deleting the mirror's tag {copy} failed: "
                f"{e.reason()}; rerun to remove it",
                model=name,
            ) from e

    def _create(self, action: Create) -> None:
        spec, name = action.spec, action.model.display
        if spec.requires and older_than(self.plan.server_version, spec.requires):
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

    def _remove_half_made(self, name: str) -> None:
        """v0.11.4 can write a model without weights after a failed create: remove it."""
        with contextlib.suppress(ServerError):
            self.client.delete(name)

    def _warm(self, action: Warm) -> tuple[str, str]:
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
        said = "already loaded, expiry refreshed" if action.loaded else f"loaded in {loaded:.1f}s"
        return said, entry.expires_at


def explain(e: ServerError, action: Action, check: Callable[[], list[str]] | None = None) -> str:
    """A registry's refusal in words that say what to do, the same in apply and in the
    plan's check: where to set `insecure`, or a layout's terms for a pull from one."""
    if "plain http" in e.message:
        return f"{e.reason()}{where_insecure(action)}"
    if isinstance(action, Pull) and action.source is not None:
        return explain_source(e, action, action.source, check)
    return e.reason()


def explain_source(
    e: ServerError,
    action: Pull,
    source: Source,
    check: Callable[[], list[str]] | None = None,
) -> str:
    """A failed pull from a layout served on loopback, said in its terms; `check` names
    the blobs served whose bytes do not match their digests."""
    if not source.registry.startswith("oci:"):
        return e.reason()
    said = e.message.lower()
    if "digest mismatch" in said and check is not None:
        bad = check()
        if bad:
            return (
                f"blob {', '.join(bad)} in {source.registry} does not match its digest "
                "(altered or damaged): copy the layout again; nothing was written"
            )
    if "file does not exist" in said or isinstance(e, NotFound):
        return (
            f"{action.model.display} is not in {source.registry}: copy it there with "
            f"`ollama-provision mirror FILE --to {source.registry}`"
        )
    if "connection refused" in said or "dial tcp" in said:
        return (
            f"the Ollama server cannot reach {source.name.host}, where this apply serves "
            f"{source.registry}: apply --from needs the server on this machine ({e.message})"
        )
    return e.reason()


def smallest_first(pulls: list[Pull], sizes: Mapping[Key, int]) -> list[Pull]:
    """Small models first, those of unknown size last: on a disk that fills up, what
    fits converges before the large one fails."""
    return sorted(pulls, key=lambda p: (p.model.key not in sizes, sizes.get(p.model.key, 0)))


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
    pulls = smallest_first([a for a in plan.actions if isinstance(a, Pull)], opts.sizes)
    by_action: dict[int, Result] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, opts.parallel))
    try:
        futures = {pool.submit(runner.run, a): i for i, a in enumerate(pulls)}
        wait(futures)
        for future, i in futures.items():
            by_action[id(pulls[i])] = future.result()
        for action in plan.actions:
            if not isinstance(action, Pull):
                by_action[id(action)] = runner.run(action)
    except (KeyboardInterrupt, Cancelled):
        opts.cancel.set()  # in-flight streams stop at their next line
        pool.shutdown(wait=True, cancel_futures=True)
        raise KeyboardInterrupt from None
    finally:
        pool.shutdown(wait=True)
    return results + [by_action[id(a)] for a in plan.actions]
