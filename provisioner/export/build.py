"""A manifest that reproduces a server's models, from /api/tags and /api/show (pure).

The rules, in the order they apply (`ollama-provision export --help` sums them up):

- Aliases: names with the same /api/tags digest are one model (a copy has the
  manifest bytes of its source). One name is the model, the others its
  `aliases:`. The canonical name is the one that says most about where the model
  comes from: a name with a registry host first, then one with a namespace, then
  the shortest, then the first alphabetically; except that a custom model is
  named by a name other models were built FROM, if any (their FROM stays).
- Custom or registry: `ollama create FROM <model>` records the base's name in
  the model layer, which /api/show reports as `details.parent_model`. A model
  whose parent_model is a model name was built on a server (custom); one with
  no parent_model was pulled (registry). A custom model is written as a
  Modelfile holding only what differs from its base as the server has it now
  (Ollama inherits the rest; licenses add up, so the base's are left out).
- Built from a local file: parent_model is then a path or a file name (v0.11
  writes the blob path, v0.32 the file name; for a GGUF whose name has no
  suffix, such as the blob path `ollama show --modelfile` prints, v0.34 writes
  the blob's own name `sha256-<hex>`, never a model name). A model pushed to a registry and
  pulled keeps the pusher's value, so it counts as built here only when the path
  is in this server's own blob folder, or, for a bare file name, when none of its
  names is published (has a registry host or a namespace). Its weights exist
  only on this server: it is written commented out, with the weights' sha256
  and a FROM to fix, so the manifest stays valid; so are the models built from
  it, and models with adapters.
- Pushed after all: a custom or local-file model with a name on a registry host
  of its own (not registry.ollama.ai: export never contacts ollama.com) is a
  registry model when that registry serves the same manifest (one GET each,
  only for such models), since a model pulled by name keeps its digest.
- insecure: a registry other than registry.ollama.ai on a loopback or private
  address (or *.localhost, *.local, *.internal) is taken to speak plain http
  (`insecure: true`, with a comment); any other host gets https and a comment
  saying how to switch. Nothing the server reports tells which it is.
- A custom model's FROM is written as it was recorded (parent_model), also
  when that name is an alias (a copy) of another model: the layers record the
  base's name, so only the same FROM rebuilds the same digest. apply must make
  such an alias before the create that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from provisioner.custom.weights import show_weights
from provisioner.export.groups import Group, canonical_rank, insecure_note
from provisioner.export.origin import FILE_SUFFIXES, Origin, origin_of
from provisioner.export.read_back import read_definition
from provisioner.names import DEFAULT_HOST, parse_name
from provisioner.types.manifest import CreateSpec
from provisioner.types.wire import ShowResult

Kind = Literal["registry", "custom", "unreproducible"]
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class ExportedModel:
    group: Group
    kind: Kind
    insecure: bool = False
    create: CreateSpec | None = None
    notes: tuple[str, ...] = ()  # written as comments above the entry
    weights: str | None = None  # model layer digest of what cannot be reproduced
    same_template: str | None = None  # see Reading.same_template


@dataclass(frozen=True)
class Export:
    models: tuple[ExportedModel, ...]
    skipped: tuple[str, ...] = ()  # names /api/tags lists that Ollama's own rules reject

    def of_kind(self, kind: Kind) -> tuple[ExportedModel, ...]:
        return tuple(m for m in self.models if m.kind == kind)


# ---- the whole export ------------------------------------------------------------------------

RegistryServes = Callable[[Group, ShowResult], bool]


def build_export(
    groups: Sequence[Group],
    shows: Mapping[str, ShowResult],
    *,
    skipped: Sequence[str] = (),
    registry_serves: RegistryServes | None = None,
) -> Export:
    """Classify every group and read custom definitions back; bases come first.

    shows: /api/show per group digest. registry_serves: asked only about a custom or
    local-file model with a name on its own registry host: does it serve this model?
    """
    origins: dict[str, tuple[Origin, str]] = {}
    for g in groups:
        origin, parent = origin_of(g, shows[g.digest])
        hosted = any(n.host.lower() != DEFAULT_HOST for n in g.names)
        ask = origin != "registry" and hosted and registry_serves is not None
        if ask and registry_serves is not None and registry_serves(g, shows[g.digest]):
            origin = "registry"
        origins[g.digest] = (origin, parent)
    groups = _named_as_built_from(groups, origins)
    by_key = {name.key: g for g in groups for name in g.names}
    blocked = _unreproducible(groups, origins, by_key)
    out: list[ExportedModel] = []
    for g in groups:
        origin, parent = origins[g.digest]
        if origin == "registry":
            insecure, note = insecure_note(g.canonical)
            out.append(ExportedModel(g, "registry", insecure, notes=(note,) if note else ()))
        elif origin == "file":
            out.append(_from_file(g, parent, shows[g.digest], blocked[g.digest]))
        else:
            out.append(_custom(g, parent, shows, by_key, blocked.get(g.digest)))
    return Export(_ordered(out, origins, by_key), tuple(skipped))


def _named_as_built_from(
    groups: Sequence[Group], origins: Mapping[str, tuple[Origin, str]]
) -> list[Group]:
    """A custom model is named by the name other models were built FROM, when there is one,
    so their FROM lines stay as written (and their digests as they were)."""
    bases = {parse_name(p).key for origin, p in origins.values() if origin == "custom"}
    out = []
    for g in groups:
        if origins[g.digest][0] == "custom":
            names = sorted(g.names, key=lambda n: (n.key not in bases, canonical_rank(n)))
            g = dataclasses.replace(g, names=tuple(names))
        out.append(g)
    return out


def _base_of(parent: str, by_key: Mapping[Key, Group]) -> Group | None:
    return by_key.get(parse_name(parent).key)


def _unreproducible(
    groups: Sequence[Group], origins: Mapping[str, tuple[Origin, str]], by_key: Mapping[Key, Group]
) -> dict[str, str]:
    """digest -> why, for models built from a local file, from such a model, or in a cycle."""
    why: dict[str, str] = {}

    def reason(g: Group, walk: tuple[str, ...]) -> str | None:
        if g.digest in why:
            return why[g.digest]
        origin, parent = origins[g.digest]
        if origin == "file":
            return "it was built from a local file whose weights exist only on this server"
        base = _base_of(parent, by_key) if origin == "custom" else None
        if base is None:
            return None
        if base.digest == g.digest or base.digest in walk:
            return f"it is recorded as built from {parent}, which is now (a copy of) itself"
        if reason(base, (*walk, g.digest)) is not None:
            return f"it is built from {base.canonical.display}, which cannot be reproduced"
        return None

    for g in groups:
        found = reason(g, ())
        if found is not None:
            why[g.digest] = found
    return why


def _from_file(g: Group, parent: str, show: ShowResult, why: str) -> ExportedModel:
    file_name = parent.replace("\\", "/").rsplit("/", 1)[-1]
    local = file_name if file_name.lower().endswith(FILE_SUFFIXES) else "model.gguf"
    spec, reading = read_definition(g, show, f"./{local}", None, None)
    spec = dataclasses.replace(spec, from_is_path=True)
    weights = show_weights(show).model
    notes = (why, *reading.notes)
    return ExportedModel(g, "unreproducible", create=spec, notes=notes, weights=weights)


def _custom(
    g: Group,
    parent: str,
    shows: Mapping[str, ShowResult],
    by_key: Mapping[Key, Group],
    blocked: str | None,
) -> ExportedModel:
    show = shows[g.digest]
    base = _base_of(parent, by_key)
    base_name = parse_name(parent).display  # as recorded, even when it is an alias
    spec, reading = read_definition(g, show, base_name, base, shows[base.digest] if base else None)
    notes = list(reading.notes)
    if base is not None and parse_name(parent).key != base.canonical.key:
        notes.append(f"built FROM {base_name}, an alias of {base.canonical.display}")
    why = blocked or reading.unreproducible
    if why is not None:
        weights = show_weights(show).model
        return ExportedModel(g, "unreproducible", create=spec, notes=(why, *notes), weights=weights)
    insecure = False
    if base is None:
        notes.append(f"its base {base_name} is not on the server: apply pulls it first")
        insecure, note = insecure_note(parse_name(base_name))
        notes += [note] if note else []
    return ExportedModel(
        g, "custom", insecure, create=spec, notes=tuple(notes), same_template=reading.same_template
    )


def _base_digest(
    m: ExportedModel, origins: Mapping[str, tuple[Origin, str]], by_key: Mapping[Key, Group]
) -> str | None:
    origin, parent = origins[m.group.digest]
    base = _base_of(parent, by_key) if origin == "custom" else None
    return base.digest if base else None


def _ordered(
    models: list[ExportedModel],
    origins: Mapping[str, tuple[Origin, str]],
    by_key: Mapping[Key, Group],
) -> tuple[ExportedModel, ...]:
    """Registry models, then custom ones, then the rest; each base before its dependents."""

    def bases_first(pending: list[ExportedModel]) -> list[ExportedModel]:
        placed: list[ExportedModel] = []
        while pending:
            waiting = {m.group.digest for m in pending}
            batch = [m for m in pending if _base_digest(m, origins, by_key) not in waiting]
            batch = batch or pending[:1]
            placed += batch
            pending = [m for m in pending if m not in batch]
        return placed

    models = sorted(models, key=lambda m: (m.group.canonical.display.lower(), m.group.digest))
    registry = [m for m in models if m.kind == "registry"]
    custom = bases_first([m for m in models if m.kind == "custom"])
    rest = bases_first([m for m in models if m.kind == "unreproducible"])
    return (*registry, *custom, *rest)
