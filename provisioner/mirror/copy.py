"""The copy engine: each model's blobs, then its manifest, from a source to a destination.

For every blob: HEAD the destination first (present: skipped, so a rerun resumes
where a killed run stopped and a finished one sends nothing); else mount it from a
repository at the destination that received it in this run (registries that offer
cross-repository mounts); else stream it, sha256 verified in flight (verify.verified
holds the last chunk back, so a corrupt blob never completes an upload or a file).
The manifest goes last, only when every blob is there: a model appears whole or not
at all. Blobs move `parallel` at a time across all models; a blob shared by several
models is sent once. A model that fails (its source, a corrupt blob) fails alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from provisioner.errors import BadAnswer, Cancelled, ProvisionError
from provisioner.mirror.endpoints import Destination, Source
from provisioner.mirror.remote import FetchedManifest
from provisioner.mirror.select import Wanted
from provisioner.mirror.verify import sha256_digest, valid_digest, verified
from provisioner.server.registry import go_reserialize
from provisioner.server.retry import DEFAULT_RETRY, RetryCallback, RetryPolicy, with_retry
from provisioner.types.wire import Progress, ProgressCallback

Status = Literal["copied", "up to date", "failed"]
PROGRESS_STEP = 1 << 20  # a progress event per MiB moved


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int


@dataclass(frozen=True)
class ModelResult:
    name: str  # the model's canonical display name
    target: str  # what it is called at the destination
    status: Status
    digest: str | None = None  # the manifest's digest
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    bytes_mounted: int = 0
    bytes_skipped: int = 0
    error: str | None = None


@dataclass(frozen=True)
class MirrorReport:
    source: str
    destination: str
    models: tuple[ModelResult, ...]
    seconds: float

    @property
    def failed(self) -> tuple[ModelResult, ...]:
        return tuple(m for m in self.models if m.status == "failed")

    def total(self, field_name: str) -> int:
        return sum(int(getattr(m, field_name)) for m in self.models)


@dataclass
class _Counts:
    copied: int = 0
    mounted: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    bytes_mounted: int = 0
    bytes_skipped: int = 0

    def add(self, outcome: str, size: int) -> None:
        if outcome == "copied":
            self.copied, self.bytes_copied = self.copied + 1, self.bytes_copied + size
        elif outcome == "mounted":
            self.mounted, self.bytes_mounted = self.mounted + 1, self.bytes_mounted + size
        else:
            self.skipped, self.bytes_skipped = self.skipped + 1, self.bytes_skipped + size


@dataclass
class _Ledger:
    """Per-digest locks (a shared blob is sent once) and where each one already is."""

    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _holders: dict[str, str] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, digest: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(digest, threading.Lock())

    def holder(self, digest: str) -> str | None:
        with self._guard:
            return self._holders.get(digest)

    def hold(self, digest: str, where: str | None) -> None:
        if where is not None:
            with self._guard:
                self._holders.setdefault(digest, where)


def manifest_blobs(manifest: FetchedManifest, where: str) -> tuple[Blob, ...]:
    """The config and layers a manifest names, each checked to be a sha256 descriptor."""
    try:
        doc = json.loads(manifest.raw)
        parts = [doc["config"], *doc["layers"]] if doc.get("config") else list(doc["layers"])
        blobs = tuple(Blob(str(p["digest"]), int(p["size"])) for p in parts)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadAnswer(f"{where}: manifest {manifest.digest} is not an image manifest") from None
    for blob in blobs:
        if not valid_digest(blob.digest) or blob.size < 0:
            raise BadAnswer(f"{where}: manifest {manifest.digest} names a bad blob {blob.digest}")
    return tuple(dict.fromkeys(blobs))  # a layer listed twice is copied once


def _check_pin(wanted: Wanted, manifest: FetchedManifest) -> None:
    if wanted.digest is None:
        return
    pins = {manifest.digest, sha256_digest(go_reserialize(manifest.raw))}
    if wanted.digest not in pins:
        raise ProvisionError(
            f"{wanted.name}: the tag now resolves to {manifest.digest}, not the pinned "
            f"{wanted.digest}; update the pin (ollama-provision lock) or mirror another tag"
        )


@dataclass
class _Run:
    source: Source
    destination: Destination
    blobs: ThreadPoolExecutor
    retry: RetryPolicy
    on_progress: ProgressCallback
    on_retry: RetryCallback | None
    ledger: _Ledger = field(default_factory=_Ledger)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def model(self, wanted: Wanted) -> ModelResult:
        name = wanted.name
        target = self.destination.target(name)
        counts = _Counts()
        try:
            manifest = with_retry(
                lambda: self.source.manifest(name, wanted.insecure),
                self.retry,
                self.on_retry,
                name.display,
            )
            _check_pin(wanted, manifest)
            blobs = manifest_blobs(manifest, self.source.where)
            futures = [self.blobs.submit(self.blob, wanted, b) for b in blobs]
            failure: BaseException | None = None
            for blob, future in zip(blobs, futures, strict=True):
                try:
                    counts.add(future.result(), blob.size)
                except Exception as e:  # keep waiting: nothing may run past the model
                    failure = failure or e
            if failure is not None:
                raise failure
            there = self.destination.has_manifest(name, manifest.digest)
            if not there:
                with_retry(
                    lambda: self.destination.put_manifest(name, manifest),
                    self.retry,
                    self.on_retry,
                    name.display,
                )
        except (ProvisionError, OSError) as e:  # OSError: a layout's disk (full, read-only)
            return _result(name.display, target, "failed", None, counts, _reason(e, name.display))
        self.on_progress(Progress(name.display, "success"))
        status: Status = (
            "up to date" if there and counts.copied == counts.mounted == 0 else "copied"
        )
        return _result(name.display, target, status, manifest.digest, counts, None)

    def blob(self, wanted: Wanted, blob: Blob) -> str:
        def attempt() -> str:
            return self._blob_once(wanted, blob)

        return with_retry(attempt, self.retry, self.on_retry, wanted.name.display)

    def _blob_once(self, wanted: Wanted, blob: Blob) -> str:
        if self.cancelled.is_set():
            raise Cancelled("interrupted")
        name, dest = wanted.name, self.destination
        with self.ledger.lock(blob.digest):
            if dest.has_blob(name, blob.digest, blob.size):
                self.ledger.hold(blob.digest, dest.holder(name))
                return "skipped"

            def open_blob() -> Iterable[bytes]:
                chunks = self.source.blob(name, wanted.insecure, blob.digest)
                where = self.source.where
                checked = verified(chunks, blob.digest, blob.size, where)
                return self._reporting(name.display, blob, checked)

            mounted = dest.put_blob(
                name, blob.digest, blob.size, open_blob, self.ledger.holder(blob.digest)
            )
            self.ledger.hold(blob.digest, dest.holder(name))
            return "mounted" if mounted else "copied"

    def _reporting(self, model: str, blob: Blob, chunks: Iterable[bytes]) -> Iterator[bytes]:
        status = f"copying {blob.digest[7:19]}"
        done, last = 0, -PROGRESS_STEP
        self.on_progress(Progress(model, status, blob.digest, blob.size, 0))
        for chunk in chunks:
            if self.cancelled.is_set():  # Ctrl-C: end the upload unfinished (not committed)
                raise Cancelled("interrupted")
            done += len(chunk)
            if done - last >= PROGRESS_STEP:
                self.on_progress(Progress(model, status, blob.digest, blob.size, done))
                last = done
            yield chunk
        self.on_progress(Progress(model, status, blob.digest, blob.size, done))


def _reason(e: ProvisionError | OSError, model: str) -> str:
    text = str(e)
    if isinstance(e, OSError) and e.filename:
        text = f"{e.filename}: {e.strerror or e}"
    return text if text.startswith(f"{model}:") else f"{model}: {text}"


def _result(
    name: str,
    target: str,
    status: Status,
    digest: str | None,
    c: _Counts,
    error: str | None,
) -> ModelResult:
    return ModelResult(
        name,
        target,
        status,
        digest,
        c.copied,
        c.mounted,
        c.skipped,
        c.bytes_copied,
        c.bytes_mounted,
        c.bytes_skipped,
        error,
    )


def mirror(
    wanted: Sequence[Wanted],
    source: Source,
    destination: Destination,
    *,
    parallel: int = 4,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: ProgressCallback = lambda event: None,
    on_retry: RetryCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> MirrorReport:
    """Copy every wanted model; the report says, per model, what moved and what failed."""
    started = clock()
    blobs = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mirror-blob")
    models = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mirror")
    run = _Run(source, destination, blobs, retry, on_progress, on_retry)
    try:
        futures: list[Future[ModelResult]] = [models.submit(run.model, w) for w in wanted]
        results = tuple(f.result() for f in futures)
    except BaseException:  # Ctrl-C: stop every transfer at its next chunk, then leave
        run.cancelled.set()
        raise
    finally:
        for pool in (models, blobs):
            pool.shutdown(wait=True, cancel_futures=True)
    return MirrorReport(source.where, destination.where, results, clock() - started)
