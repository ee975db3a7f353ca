"""`--target NAME`: narrow a manifest to some models and what they need.

A target is a declared model (or an alias of one). It keeps the models it
depends on: a custom model's declared base, and the model an alias copies.
Nothing else is planned: no other model, no pruning, no extras.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from provisioner.errors import InvalidName, UsageError
from provisioner.manifest.load import Manifest, ModelSpec
from provisioner.names import Key, parse_name


def select(manifest: Manifest, targets: Sequence[str]) -> Manifest:
    """The manifest with only the targeted models and their dependencies, in order."""
    by_key: dict[Key, ModelSpec] = {s.name.key: s for s in manifest.models}
    owner = {alias.key: s for s in manifest.models for alias in s.aliases}
    chosen: set[Key] = set()
    pending: list[ModelSpec] = []
    for target in targets:
        try:
            key = parse_name(target).key
        except InvalidName as e:
            raise UsageError(f"--target {target}: {e}") from None
        spec = by_key.get(key) or owner.get(key)
        if spec is None:
            raise UsageError(f"--target {target}: not declared in {manifest.path.name}")
        pending.append(spec)
    while pending:
        spec = pending.pop()
        if spec.name.key in chosen:
            continue
        chosen.add(spec.name.key)
        base = by_key.get(spec.base.key) if spec.base is not None else None
        if base is not None:
            pending.append(base)
    models = tuple(s for s in manifest.models if s.name.key in chosen)
    prune = dataclasses.replace(manifest.prune, enabled=False)
    return dataclasses.replace(manifest, models=models, prune=prune)
