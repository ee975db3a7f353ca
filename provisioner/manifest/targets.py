"""Narrowing a manifest to some models and what they need.

`--target NAME`: a target is a declared model (or an alias of one). It keeps
the models it depends on: a custom model's declared base, and the model an
alias copies. Nothing else is planned: no other model, no pruning, no extras.

Selectors: a server of a fleet gets the models whose selector its labels
match, and their bases. The models meant for other servers are never pruned
from it (they are declared, just not here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from provisioner.errors import InvalidName, UsageError
from provisioner.manifest.labels import matches
from provisioner.names import Key, parse_name
from provisioner.types.manifest import Labels, Manifest, ModelSpec


def select(manifest: Manifest, targets: Sequence[str]) -> Manifest:
    """The manifest with only the targeted models and their dependencies, in order."""
    by_key: dict[Key, ModelSpec] = {s.name.key: s for s in manifest.models}
    owner = {alias.key: s for s in manifest.models for alias in s.aliases}
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
    models = _with_bases(manifest, pending)
    prune = dataclasses.replace(manifest.prune, enabled=False)
    return dataclasses.replace(manifest, models=models, prune=prune)


def for_labels(manifest: Manifest, labels: Labels) -> tuple[Manifest, tuple[ModelSpec, ...]]:
    """The manifest as one server with these labels sees it, and the models it leaves
    out (meant for other servers). Those stay unpruned: their names join prune.keep."""
    if not any(s.selector for s in manifest.models):
        return manifest, ()
    chosen = [s for s in manifest.models if matches(s.selector, labels)]
    models = _with_bases(manifest, chosen)
    kept = {s.name.key for s in models}
    elsewhere = tuple(s for s in manifest.models if s.name.key not in kept)
    names = [n.display for s in elsewhere if s.kind != "absent" for n in (s.name, *s.aliases)]
    keep = manifest.prune.keep + tuple(names)  # model names hold no glob characters
    prune = dataclasses.replace(manifest.prune, keep=keep)
    return dataclasses.replace(manifest, models=models, prune=prune), elsewhere


def _with_bases(manifest: Manifest, pending: list[ModelSpec]) -> tuple[ModelSpec, ...]:
    """The models in pending and every declared model they build on, in manifest order."""
    by_key: dict[Key, ModelSpec] = {s.name.key: s for s in manifest.models}
    chosen: set[Key] = set()
    pending = list(pending)
    while pending:
        spec = pending.pop()
        if spec.name.key in chosen:
            continue
        chosen.add(spec.name.key)
        base = by_key.get(spec.base.key) if spec.base is not None else None
        if base is not None:
            pending.append(base)
    return tuple(s for s in manifest.models if s.name.key in chosen)
