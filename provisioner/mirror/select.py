"""Which models a manifest needs at a mirror: every registry model it declares, and the
registry bases its custom models are built FROM (what apply would pull for them).

A custom model itself is never mirrored: it is built on the server from its base.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.names import Key, ModelName
from provisioner.types.manifest import Manifest


@dataclass(frozen=True)
class Wanted:
    name: ModelName
    insecure: bool  # the source registry speaks plain http
    digest: str | None = None  # the manifest's (or lock's) pin: the tag must still resolve to it
    reason: str = "declared"  # or "base of <custom model>"


def models_to_mirror(manifest: Manifest) -> tuple[Wanted, ...]:
    """In manifest order, each name once (declared entries before implicit bases)."""
    declared: dict[Key, str] = {spec.name.key: spec.kind for spec in manifest.models}
    wanted: dict[Key, Wanted] = {}
    for spec in manifest.models:
        if spec.kind == "registry":
            wanted.setdefault(spec.name.key, Wanted(spec.name, spec.insecure, spec.digest))
    for spec in manifest.models:
        base = spec.base
        if spec.kind != "custom" or base is None or base.key in wanted:
            continue
        if declared.get(base.key) in ("custom", "absent"):
            continue  # built on the server (its own base is listed), or meant to be gone
        wanted[base.key] = Wanted(base, spec.insecure, reason=f"base of {spec.name}")
    return tuple(wanted.values())
