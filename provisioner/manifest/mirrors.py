"""`mirrors:` in the manifest: pull a registry's models from another registry.

A mirror entry maps a source registry host (as it appears in model names:
`registry.ollama.ai`, `127.0.0.1:5000`) to the registry that holds copies of
its models. apply pulls `<mirror>/<namespace>/<model>:<tag>`, copies it to the
canonical name and deletes the mirror-named tag, so the server ends up with
the names a connected pull would give.

A prefix (`mirror.corp:5000/ollama`) takes the place of the namespace: an
Ollama name has exactly one namespace level (host/namespace/model:tag, with no
`/` in any part), so `mirror.corp:5000/ollama/library/llama3.2` cannot be
pulled; `mirror.corp:5000/ollama/llama3.2` can. Two declared models that would
land on one mirror name are a manifest error, and the same two are refused by
`mirror --to HOST/PREFIX`: both ask `shared_names`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from provisioner.names import ModelName
from provisioner.types.manifest import Mirror


def split_to(text: str) -> tuple[str, str | None]:
    """`mirror.corp:5000/ollama` -> ("mirror.corp:5000", "ollama")."""
    host, _, prefix = text.partition("/")
    return host, prefix or None


def mirror_name(name: ModelName, mirror: Mirror) -> ModelName:
    """The name a model has on its mirror."""
    return ModelName(mirror.host, mirror.prefix or name.namespace, name.model, name.tag)


def route(name: ModelName, mirrors: Mapping[str, Mirror]) -> Mirror | None:
    """The mirror a model pulls through, or None: its registry has no mirror entry."""
    return mirrors.get(name.host.lower()) if mirrors else None


def shared_names(
    names: Sequence[ModelName], mirror_of: Callable[[ModelName], Mirror | None]
) -> list[tuple[int, int]]:
    """(first, other) indexes of two different models that would have one name on their
    mirror, as a prefix that takes the place of the namespace can make them. `mirror_of`
    gives the mirror a name goes through (None: it has none, nothing to compare)."""
    first_by_key: dict[tuple[str, str, str, str], int] = {}
    shared = []
    for i, name in enumerate(names):
        mirror = mirror_of(name)
        if mirror is None:
            continue
        first = first_by_key.setdefault(mirror_name(name, mirror).key, i)
        if names[first].key != name.key:
            shared.append((first, i))
    return shared
