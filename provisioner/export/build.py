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
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from provisioner.custom.blobs import show_weights
from provisioner.custom.definition import (
    DEFAULT_TEMPLATE,
    parse_show_parameters,
    same_parameter_value,
    show_messages,
)
from provisioner.custom.modelfile import (
    DEPRECATED_PARAMETERS,
    PARAMETER_TYPES,
    parse_modelfile,
    to_modelfile,
)
from provisioner.errors import InvalidName, ModelfileError
from provisioner.names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName, parse_name
from provisioner.types.manifest import CreateSpec
from provisioner.types.wire import ShowResult, TagEntry

Kind = Literal["registry", "custom", "unreproducible"]
Origin = Literal["registry", "custom", "file"]
Key = tuple[str, str, str, str]

QUANTIZE_TYPES = ("F32", "F16", "Q8_0", "Q4_K_S", "Q4_K_M")
_FILE_SUFFIXES = (".gguf", ".safetensors", ".bin")
_BLOB_NAME = re.compile(r"sha256[-:][0-9a-fA-F]{64}")  # a blob's file name (or digest)
_NOWHERE = Path("/nonexistent/ollama-provision-export")  # no FROM resolves to a file here


@dataclass(frozen=True)
class Group:
    """The names that share one /api/tags digest: one model."""

    digest: str
    names: tuple[ModelName, ...]  # canonical first
    details: Mapping[str, Any] = field(default_factory=dict)  # from /api/tags

    @property
    def canonical(self) -> ModelName:
        return self.names[0]

    @property
    def aliases(self) -> tuple[ModelName, ...]:
        return self.names[1:]


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


# ---- names -------------------------------------------------------------------------------


def canonical_rank(name: ModelName) -> tuple[bool, bool, int, str, str]:
    """Sort key: a registry host first, then a namespace, then shortest, then alphabetical."""
    shown = name.display
    return (
        name.host.lower() == DEFAULT_HOST,
        name.namespace.lower() == DEFAULT_NAMESPACE,
        len(shown),
        shown.lower(),
        shown,
    )


def group_tags(tags: Sequence[TagEntry]) -> tuple[tuple[Group, ...], tuple[str, ...]]:
    """Group /api/tags entries by digest; also return the names that do not parse."""
    by_digest: dict[str, list[ModelName]] = {}
    details: dict[str, Mapping[str, Any]] = {}
    skipped = []
    for entry in tags:
        try:
            name = parse_name(entry.name)
        except InvalidName:
            skipped.append(entry.name)
            continue
        by_digest.setdefault(entry.digest, []).append(name)
        details.setdefault(entry.digest, entry.details)
    groups = [
        Group(digest, tuple(sorted(names, key=canonical_rank)), details[digest])
        for digest, names in by_digest.items()
    ]
    groups.sort(key=lambda g: (g.canonical.display.lower(), g.canonical.display))
    return tuple(groups), tuple(skipped)


def plain_http_likely(host: str) -> bool:
    """Whether a registry host is loopback or private, where plain http is the norm."""
    if host.lower() == DEFAULT_HOST:
        return False
    bare = host
    if bare.startswith("["):
        bare = bare[1:].split("]", 1)[0]
    elif bare.count(":") == 1:
        bare = bare.split(":", 1)[0]
    bare = bare.lower()
    if bare == "localhost" or bare.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def insecure_note(name: ModelName) -> tuple[bool, str | None]:
    """(insecure, comment) for a model pulled by this name, by the rule above."""
    if name.host.lower() == DEFAULT_HOST:
        return False, None
    if plain_http_likely(name.host):
        return (
            True,
            f"plain http assumed for {name.host} (loopback/private); drop insecure for https",
        )
    return False, f"https assumed for {name.host}; add `insecure: true` if it speaks plain http"


# ---- where a model came from -------------------------------------------------------------


def is_published(name: ModelName) -> bool:
    """A name with a registry host or a namespace: one that can be pushed and pulled."""
    return name.host.lower() != DEFAULT_HOST or name.namespace.lower() != DEFAULT_NAMESPACE


def published(names: Sequence[ModelName]) -> bool:
    return any(is_published(n) for n in names)


def _looks_like_file(value: str) -> bool:
    """Whether a server's recorded parent_model is a file rather than a model name."""
    # Not custom.modelfile.looks_like_path on purpose: that one reads what a user wrote,
    # by Ollama's CLI prefix rule and this machine's os.path. This one reads what a server
    # recorded: a path of the server's own OS (backslashes), a bare file name, or a blob.
    return (
        value.startswith(("/", "./", "../", "~"))
        or "\\" in value
        or value.lower().endswith(_FILE_SUFFIXES)
        or _BLOB_NAME.fullmatch(value) is not None
    )


def _blob_dir(show: ShowResult) -> str | None:
    """This server's blob folder, from the FROM line /api/show writes."""
    for line in show.modelfile.splitlines():
        command, _, value = line.strip().partition(" ")
        if command.upper() == "FROM":
            value = value.strip()
            cut = max(value.rfind("/"), value.rfind("\\"))
            return value[:cut] if cut > 0 and "sha256" in value[cut:] else None
    return None


def origin_of(group: Group, show: ShowResult) -> tuple[Origin, str]:
    """(origin, parent_model) by the rule in the module docstring."""
    parent = str(show.details.get("parent_model") or "").strip()
    if not parent:
        return "registry", parent
    if not _looks_like_file(parent):
        try:
            parse_name(parent)
        except InvalidName:
            pass
        else:
            return "custom", parent
    cut = max(parent.rfind("/"), parent.rfind("\\"))
    if cut >= 0:  # the blob path on the server that built it
        return ("file" if parent[:cut] == _blob_dir(show) else "registry"), parent
    return ("registry" if published(group.names) else "file"), parent


# ---- a custom model's definition, read back ------------------------------------------------

_LIST, _INT, _FLOAT = PARAMETER_TYPES["stop"], PARAMETER_TYPES["seed"], PARAMETER_TYPES["top_p"]


def _typed(name: str, value: Any) -> Any:
    """The value as a Modelfile types it, or None when a Modelfile cannot say it."""
    kind = PARAMETER_TYPES.get(name)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is None or name in DEPRECATED_PARAMETERS:
        return None
    if kind == _LIST:
        items = value if isinstance(value, list) else [value]
        return [v for v in items] if all(isinstance(v, str) for v in items) else None
    if kind == _INT:
        return int(value) if number and math.isfinite(value) and value == int(value) else None
    if kind == _FLOAT:
        return float(value) if number and math.isfinite(value) else None
    return value if isinstance(value, bool) else None


@dataclass
class Reading:
    """What was lost reading a definition back, and why it cannot be rebuilt (if so)."""

    notes: list[str] = field(default_factory=list)
    unreproducible: str | None = None
    # The template equals the base's: inherited, or a layer of its own (nothing the API
    # shows tells which; export/read.py asks the server by building it both ways).
    same_template: str | None = None


def _parameters(show: ShowResult, base: ShowResult | None, reading: Reading) -> dict[str, Any]:
    have = parse_show_parameters(show.parameters)
    inherited = parse_show_parameters(base.parameters) if base else {}
    out: dict[str, Any] = {}
    for name, value in sorted(have.items()):  # /api/show lists them in random order
        if name in inherited and same_parameter_value(value, inherited[name], ordered=True):
            continue
        typed = _typed(name, value)
        if typed is None:
            reading.notes.append(f"parameter {name} {value!r} left out: a Modelfile cannot say it")
        else:
            out[name] = typed
    lost = [name for name in inherited if name not in have]
    if lost:
        reading.notes.append(
            f"its base sets {', '.join(lost)}, this model does not; a create cannot unset them"
        )
    return out


def _text(what: str, have: str, inherited: str | None, reading: Reading) -> str | None:
    if inherited is None:  # no base to compare with: write what the server has
        return have or None
    if have == inherited:
        return None
    if not have:
        reading.notes.append(
            f"its base has a {what}, this model has none; a create cannot clear it"
        )
        return None
    return have


def _license(show: ShowResult, base: ShowResult | None, reading: Reading) -> tuple[str, ...]:
    if not show.license:
        return ()
    if base is None:
        reading.notes.append("license left out: without the base, its own cannot be told apart")
        return ()
    if not base.license:
        return (show.license,)
    if show.license == base.license:
        return ()
    if show.license.startswith(base.license + "\n"):
        return (show.license[len(base.license) + 1 :],)
    reading.notes.append("license left out: it does not extend its base's as a create would")
    return ()


def _weights(
    group: Group, show: ShowResult, base: Group | None, base_show: ShowResult | None, r: Reading
) -> str | None:
    """Compare weights and adapters with the base's; the quantize type when it explains them."""
    have = show_weights(show)
    if base is None or base_show is None:
        if have.adapters:
            r.notes.append(
                "it has adapters: whether its base (not on the server) has them is unknown"
            )
        return None
    inherited = show_weights(base_show)
    if have.adapters != inherited.adapters:
        r.unreproducible = "it has an ADAPTER, a local file that exists only where it was built"
        return None
    if have.model == inherited.model:
        return None
    level = str(group.details.get("quantization_level") or "").upper()
    base_level = str(base.details.get("quantization_level") or "").upper()
    if level != base_level and level in QUANTIZE_TYPES:
        return level
    r.notes.append(
        "its weights differ from its base's as the server has it now (the base was updated "
        "since?); apply builds it from the base as it is then"
    )
    return None


def read_definition(
    group: Group, show: ShowResult, base_name: str, base: Group | None, base_show: ShowResult | None
) -> tuple[CreateSpec, Reading]:
    """What `ollama create` needs to rebuild this model over its base, as the server shows it."""
    reading = Reading()
    template = show.template if show.template != DEFAULT_TEMPLATE or base_show else ""
    requires = str(show.raw.get("requires") or "")
    messages = show_messages(show)
    if base_show is not None:
        if messages == show_messages(base_show):
            messages = ()
        elif not messages:
            reading.notes.append(
                "its base has messages, this model none; a create cannot clear them"
            )
    inherited = (
        (base_show.system, base_show.template, str(base_show.raw.get("requires") or ""))
        if base_show
        else (None, None, None)
    )
    if base_show is not None and template and template == base_show.template:
        reading.same_template = template
    spec = CreateSpec(
        from_=base_name,
        system=_text("system prompt", show.system, inherited[0], reading),
        template=_text("template", template, inherited[1], reading),
        parameters=_parameters(show, base_show, reading),
        messages=messages,
        license=_license(show, base_show, reading),
        requires=_text("REQUIRES", requires, inherited[2], reading),
        quantize=_weights(group, show, base, base_show, reading),
    )
    return spec, reading


def modelfile_text(spec: CreateSpec) -> str | None:
    """The spec (quantize aside) as Modelfile text that parses back to it, else None."""
    plain = dataclasses.replace(spec, quantize=None)
    try:
        text = to_modelfile(plain)
        if plain.from_is_path:
            return text  # a placeholder path, for a commented-out entry
        again = parse_modelfile(text, source="export", base_dir=_NOWHERE)
    except (ValueError, ModelfileError):
        return None
    return text if again == plain else None


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
    local = file_name if file_name.lower().endswith(_FILE_SUFFIXES) else "model.gguf"
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
