"""The lock: what exactly a manifest resolved to, so every machine gets the same bytes.

`<stem>.lock.json` beside the manifest holds, for each registry model, the
registry's manifest digest its tag resolved to, and for each custom model a
hash of its create request (local weights by their sha256). This module reads
it and holds the manifest to it: with `apply --locked` the lock's digests act
as pins and a custom definition must hash the same; anything else is refused
before any change. `drift` reads the lock when one exists. Writing one asks
the registries (network I/O): that is reconcile/lock_write.py.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.custom.files import read_regular, weight_files
from provisioner.custom.hash_cache import HashCache
from provisioner.custom.modelfile.request import create_request
from provisioner.errors import LockError
from provisioner.names import ModelName
from provisioner.types.manifest import CreateSpec, Manifest, ModelSpec

LOCK_VERSION = 1
MAX_LOCK_BYTES = 16 << 20  # a lock of 100,000 models is about 15 MB


def lock_path(manifest_path: Path) -> Path:
    """Where a manifest's lock lives: `<stem>.lock.json` beside it."""
    name = manifest_path.name
    stem = name.rsplit(".", 1)[0] if name.endswith((".yaml", ".yml")) else name
    return manifest_path.with_name(f"{stem}.lock.json")


@dataclass(frozen=True)
class Lock:
    path: Path
    registry: dict[str, str]  # display name -> "sha256:<hex>" of the registry manifest
    custom: dict[str, str]  # display name -> "sha256:<hex>" of the create request


@dataclass(frozen=True)
class Disagreement:
    """Where one model of the manifest differs from its lock (drift reports it per model)."""

    model: ModelName
    what: str  # names the lock file, so every line that shows it says where it came from

    def __str__(self) -> str:
        return f"{self.model.display}: {self.what}"


def definition_hash(spec: CreateSpec, cache: HashCache) -> str:
    """A stable hash of what a create would send; local files count by content."""

    def digests(path: str) -> dict[str, str]:
        return {name: cache.digest(file) for name, file in weight_files(Path(path)).items()}

    files = digests(spec.from_) if spec.from_is_path else None
    adapters: dict[str, str] = {}
    for adapter in spec.adapters:
        adapters.update(digests(adapter))
    body: dict[str, Any] = create_request(spec, "", files=files, adapters=adapters or None)
    body.pop("model", None)
    body.pop("stream", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Moved:
    """A model whose locked digest changed since the previous lock."""

    model: str
    old: str
    new: str


@dataclass(frozen=True)
class LockWritten:
    path: Path
    registry: dict[str, str]
    custom: dict[str, str]
    moved: tuple[Moved, ...] = ()


def read_lock(manifest: Manifest) -> Lock | None:
    """The lock beside the manifest, None when there is none; LockError when it is not one.

    Only a regular file of at most 16 MiB is read (a FIFO or /dev/zero is refused,
    never read forever); anything but the layout `lock` writes is one LockError
    naming the file."""
    path = lock_path(manifest.path)
    try:
        data = read_regular(path, MAX_LOCK_BYTES)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno in (errno.EINVAL, errno.EFBIG):  # not a regular file, too big
            what = e.strerror if e.errno == errno.EINVAL else f"{e.strerror}, not a lock file"
            raise LockError(
                f"{path}: {what}; remove it and rerun `ollama-provision lock`"
            ) from None
        raise LockError(f"cannot read the lock {path}: {e.strerror or e}") from None
    try:
        return _parse_lock(path, json.loads(data))
    except (ValueError, RecursionError) as e:
        why = f"not JSON: {e}" if isinstance(e, json.JSONDecodeError) else str(e)
        if isinstance(e, RecursionError):
            why = "nested too deeply"
        elif isinstance(e, UnicodeDecodeError):
            why = "not UTF-8 text"
        raise LockError(f"{path}: not a lock file ({why}); rerun `ollama-provision lock`") from None


def _parse_lock(path: Path, body: object) -> Lock:
    """A Lock from the JSON of a lock file; ValueError saying what is wrong with it."""
    if not isinstance(body, dict):
        raise ValueError(f"the top level is {_json_kind(body)}, not an object")
    version = body.get("lock_version")
    if version != LOCK_VERSION:
        if isinstance(version, int) and not isinstance(version, bool):
            raise LockError(
                f"{path}: lock_version {version} is not supported (this tool writes "
                f"{LOCK_VERSION}); rerun `ollama-provision lock`"
            )
        raise ValueError("no lock_version 1")
    tables: list[dict[str, str]] = []
    for key in ("registry", "custom"):
        if key not in body:
            raise ValueError(f"no '{key}'")
        table = body[key]
        if not isinstance(table, dict):
            raise ValueError(f"'{key}' is {_json_kind(table)}, not an object")
        for name, digest in table.items():
            if not isinstance(digest, str):
                raise ValueError(
                    f"'{key}' maps {json.dumps(name)} to {_json_kind(digest)}, not a digest"
                )
        tables.append(dict(table))
    return Lock(path, tables[0], tables[1])


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


_RELOCK = "run `ollama-provision lock`"


def _pinned(spec: ModelSpec, lock: Lock) -> tuple[ModelSpec, Disagreement | None]:
    """The spec with the lock's digest as its pin, or why the lock disagrees."""
    locked = lock.registry.get(spec.name.display)
    if locked is None:
        return spec, _not_locked(spec, lock)
    if spec.digest is not None and spec.digest != locked:
        what = f"pinned to {spec.digest} but locked to {locked} in {lock.path.name}; {_RELOCK}"
        return spec, Disagreement(spec.name, what)
    return dataclasses.replace(spec, digest=locked, pinned_by=lock.path.name), None


def _not_locked(spec: ModelSpec, lock: Lock) -> Disagreement:
    return Disagreement(spec.name, f"not in {lock.path.name}; {_RELOCK}")


def apply_lock(
    manifest: Manifest, lock: Lock, cache: HashCache | None = None
) -> tuple[Manifest, list[Disagreement]]:
    """Pin every registry model to its locked digest; list every disagreement."""
    cache = cache or HashCache()
    models: list[ModelSpec] = []
    problems: list[Disagreement] = []
    for spec in manifest.models:
        if spec.kind == "registry":
            spec, problem = _pinned(spec, lock)
            if problem:
                problems.append(problem)
        elif spec.kind == "custom" and spec.create is not None:
            locked = lock.custom.get(spec.name.display)
            if locked is None:
                problems.append(_not_locked(spec, lock))
            elif definition_hash(spec.create, cache) != locked:
                what = f"its definition changed since {lock.path.name} was written"
                problems.append(Disagreement(spec.name, what))
        models.append(spec)
    return dataclasses.replace(manifest, models=tuple(models)), problems
