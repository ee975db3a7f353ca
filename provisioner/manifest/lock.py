"""The lock: what exactly a manifest resolved to, so every machine gets the same bytes.

`lock FILE` writes `<stem>.lock.json` next to the manifest: for each registry
model the registry's manifest digest its tag resolves to now, for each custom
model a hash of its create request (local weights by their sha256). With
`apply --locked` the lock's digests act as pins and a custom definition must
hash the same; anything else is refused before any change. `drift` reads the
lock when one exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.atomic import write_atomically
from provisioner.custom.blobs import HashCache, weight_files
from provisioner.custom.modelfile import create_request
from provisioner.custom.spec import CreateSpec
from provisioner.errors import LockError
from provisioner.manifest.load import Manifest, ModelSpec
from provisioner.server.registry import fetch_manifest

LOCK_VERSION = 1


@dataclass(frozen=True)
class Lock:
    path: Path
    registry: dict[str, str]  # display name -> "sha256:<hex>" of the registry manifest
    custom: dict[str, str]  # display name -> "sha256:<hex>" of the create request


def lock_path(manifest_path: Path) -> Path:
    name = manifest_path.name
    stem = name.rsplit(".", 1)[0] if name.endswith((".yaml", ".yml")) else name
    return manifest_path.with_name(f"{stem}.lock.json")


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


def resolve(
    manifest: Manifest, cache: HashCache | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Ask the registries what every tag is now; hash every custom definition."""
    cache = cache or HashCache()
    registry: dict[str, str] = {}
    custom: dict[str, str] = {}
    for spec in manifest.models:
        if spec.kind == "registry":
            registry[spec.name.display] = (
                spec.digest or fetch_manifest(spec.name, insecure=spec.insecure).digest
            )
        elif spec.kind == "custom" and spec.create is not None:
            custom[spec.name.display] = definition_hash(spec.create, cache)
    return registry, custom


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


def write_lock(manifest: Manifest, cache: HashCache | None = None) -> LockWritten:
    """Resolve and write the lock atomically; say what moved since the previous one."""
    try:
        previous = read_lock(manifest)
    except LockError:
        previous = None  # an unreadable old lock is simply replaced
    registry, custom = resolve(manifest, cache)
    path = lock_path(manifest.path)
    body = {
        "lock_version": LOCK_VERSION,
        "manifest": manifest.path.name,
        "registry": dict(sorted(registry.items())),
        "custom": dict(sorted(custom.items())),
    }
    write_atomically(path, json.dumps(body, indent=2) + "\n")
    before = {**previous.registry, **previous.custom} if previous else {}
    moved = tuple(
        Moved(name, before[name], digest)
        for name, digest in sorted({**registry, **custom}.items())
        if name in before and before[name] != digest
    )
    return LockWritten(path, registry, custom, moved)


def read_lock(manifest: Manifest) -> Lock | None:
    path = lock_path(manifest.path)
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text())
        if body.get("lock_version") != LOCK_VERSION:
            raise LockError(f"{path}: lock_version {body.get('lock_version')} is not supported")
        return Lock(path, dict(body["registry"]), dict(body["custom"]))
    except (ValueError, KeyError, TypeError) as e:
        raise LockError(f"{path}: not a lock file ({e}); rerun `ollama-provision lock`") from e


def _pinned(spec: ModelSpec, lock: Lock) -> tuple[ModelSpec, str | None]:
    """The spec with the lock's digest as its pin, or why the lock disagrees."""
    name = spec.name.display
    locked = lock.registry.get(name)
    if locked is None:
        return spec, f"{name} is not in {lock.path.name}; run `ollama-provision lock`"
    if spec.digest is not None and spec.digest != locked:
        return spec, f"{name} is pinned to {spec.digest} but locked to {locked}; run lock again"
    return dataclasses.replace(spec, digest=locked, pinned_by=lock.path.name), None


def apply_lock(
    manifest: Manifest, lock: Lock, cache: HashCache | None = None
) -> tuple[Manifest, list[str]]:
    """Pin every registry model to its locked digest; list every disagreement."""
    cache = cache or HashCache()
    models: list[ModelSpec] = []
    problems: list[str] = []
    for spec in manifest.models:
        if spec.kind == "registry":
            spec, problem = _pinned(spec, lock)
            if problem:
                problems.append(problem)
        elif spec.kind == "custom" and spec.create is not None:
            name = spec.name.display
            locked = lock.custom.get(name)
            if locked is None:
                problems.append(f"{name} is not in {lock.path.name}; run `ollama-provision lock`")
            elif definition_hash(spec.create, cache) != locked:
                problems.append(
                    f"{name}: its definition changed since {lock.path.name} was written"
                )
        models.append(spec)
    return dataclasses.replace(manifest, models=tuple(models)), problems
