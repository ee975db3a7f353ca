"""A custom model's definition read back from /api/show: only what differs from its
base as the server has it now (Ollama inherits the rest), with what was lost."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.custom.definition import (
    DEFAULT_TEMPLATE,
    parse_show_parameters,
    same_parameter_value,
    show_messages,
)
from provisioner.custom.modelfile.parameters import is_deprecated, typed
from provisioner.custom.modelfile.parse import parse_modelfile
from provisioner.custom.modelfile.write import to_modelfile
from provisioner.custom.weights import show_weights
from provisioner.errors import ModelfileError
from provisioner.export.groups import Group
from provisioner.types.manifest import CreateSpec
from provisioner.types.wire import ShowResult

QUANTIZE_TYPES = ("F32", "F16", "Q8_0", "Q4_K_S", "Q4_K_M")
_NOWHERE = Path("/nonexistent/ollama-provision-export")  # no FROM resolves to a file here


def _typed(name: str, value: Any) -> Any:
    """The value as a Modelfile types it, or None when a Modelfile cannot say it."""
    if is_deprecated(name):
        return None
    try:
        return typed(name, value)
    except ValueError:  # an unknown name too
        return None


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
