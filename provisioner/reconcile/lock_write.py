"""`lock`: resolve a manifest and write `<stem>.lock.json` beside it.

Resolving asks each registry what every tag is now (one manifest GET per
unpinned registry model) and hashes every custom definition (local weights by
content, through the hash cache); the file format, and reading it back, is
manifest/lock.py. The lock is written atomically: a reader sees the old one or
the new one, never half of either.
"""

from __future__ import annotations

import json

from provisioner.atomic import write_atomically
from provisioner.custom.hash_cache import HashCache
from provisioner.errors import LockError
from provisioner.manifest.lock import (
    LOCK_VERSION,
    LockWritten,
    Moved,
    definition_hash,
    lock_path,
    read_lock,
)
from provisioner.server.registry import fetch_manifest
from provisioner.types.manifest import Manifest


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
