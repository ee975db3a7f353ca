"""Write an Export as a commented manifest (YAML text that load_manifest accepts).

Values go through PyYAML's safe dumper, so any text is quoted as YAML needs;
Modelfiles and multi-line prompts are literal blocks where YAML allows one.
`${` in a value is written `$${`, since the loader expands variables.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import yaml

from provisioner.export.build import Export, ExportedModel, Kind
from provisioner.export.read_back import modelfile_text
from provisioner.manifest.files import SCHEMA_URL
from provisioner.types.manifest import CreateSpec

_WIDTH = 80  # comment lines wrap here: yamllint's default line length


class _Literal(str):
    """A string written as a YAML literal block when YAML allows it."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key


def _represent_literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    style = "|" if "\t" not in value and "\r" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


_Dumper.add_representer(_Literal, _represent_literal)


def _escaped(value: Any) -> Any:
    """`${` would be read as a variable: write it `$${` (the loader turns it back)."""
    if isinstance(value, str):
        text = value.replace("${", "$${")
        return _Literal(text) if isinstance(value, _Literal) else text
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def _text(value: str) -> str:
    return _Literal(value) if "\n" in value else value


def _structured(spec: CreateSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"from": spec.from_}
    if spec.system:
        out["system"] = _text(spec.system)
    if spec.template:
        out["template"] = _text(spec.template)
    if spec.parameters:
        out["parameters"] = dict(spec.parameters)
    if spec.messages:
        out["messages"] = [{"role": r, "content": _text(c)} for r, c in spec.messages]
    if spec.license:
        texts = [_text(t) for t in spec.license]
        out["license"] = texts[0] if len(texts) == 1 else texts
    return out


def entry_of(model: ExportedModel) -> dict[str, Any]:
    """The manifest entry of one exported model, as plain data."""
    entry: dict[str, Any] = {"name": model.group.canonical.display}
    spec = model.create
    if spec is not None:
        text = modelfile_text(spec)
        if text is not None:
            entry["modelfile"] = _Literal(text)
        else:  # e.g. a value with a line ending in \"\"\": the YAML form can hold anything
            entry.update(_structured(spec))
        if spec.quantize:
            entry["quantize"] = spec.quantize
    if model.insecure:
        entry["insecure"] = True
    if model.group.aliases:
        entry["aliases"] = [a.display for a in model.group.aliases]
    escaped: dict[str, Any] = _escaped(entry)
    return escaped


def _yaml(entry: Mapping[str, Any]) -> list[str]:
    text = yaml.dump(
        [dict(entry)],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 30,
        default_flow_style=False,
    )
    return text.splitlines()


def _comment(text: str, indent: str = "  ") -> list[str]:
    wrapped = textwrap.wrap(text, width=_WIDTH - len(indent) - 2, break_on_hyphens=False)
    return [f"{indent}# {line}" for line in wrapped or [""]]


def _entry_lines(model: ExportedModel) -> list[str]:
    lines = [line for note in model.notes for line in _comment(note)]
    body = _yaml(entry_of(model))
    if model.kind != "unreproducible":
        return lines + [f"  {line}".rstrip() for line in body]
    if model.create is not None and model.create.from_is_path:
        lines += _comment(
            f"weights: {model.weights} (compare `sha256sum FILE`); to restore it, put the "
            "file next to this manifest, fix FROM and uncomment the entry"
        )
    else:
        lines += _comment("uncomment it once what it is built from is restored")
    return lines + [f"  # {line}".rstrip() for line in body]


_SECTIONS: tuple[tuple[Kind, str], ...] = (
    ("registry", "Registry models: pulled by name and tag when missing."),
    ("custom", "Custom models: Modelfiles read back from /api/show, over their base."),
    (
        "unreproducible",
        "NOT REPRODUCIBLE here (commented out, so this file stays valid): built from\n"
        "files that exist only on the exported server.",
    ),
)


def render(export: Export, *, source: str, server_version: str) -> str:
    """The whole manifest text."""
    registry, custom = export.of_kind("registry"), export.of_kind("custom")
    lost = export.of_kind("unreproducible")
    aliases = sum(len(m.group.aliases) for m in export.models if m.kind != "unreproducible")
    summary = f"{len(registry)} registry, {len(custom)} custom, {aliases} alias(es)"
    if lost:
        summary += f"; {len(lost)} not reproducible (commented out at the end)"
    head = [
        "# yamllint disable-line rule:line-length",
        f"# yaml-language-server: $schema={SCHEMA_URL}",
        "#",
        *_comment(
            f"Exported by `ollama-provision export` from {source} (ollama {server_version}): "
            f"{summary}.",
            "",
        ),
        "# Same digest = one model (the other names are its aliases); a model whose",
        "# /api/show names a parent model is custom; insecure is assumed for",
        "# registries on loopback/private addresses. Rules: `ollama-provision export",
        "# --help`.",
        "#",
        "# Reproduce elsewhere:",
        "#   ollama-provision apply --host http://HOST:11434 <this file>",
    ]
    for name in export.skipped:
        head += _comment(
            f"skipped {name!r}: not a name Ollama accepts, so it cannot be declared", ""
        )
    lines = [*head, "version: 1"]
    declared = [m for m in export.models if m.kind != "unreproducible"]
    lines.append("models:" if declared else "models: []")
    for kind, title in _SECTIONS:
        models = export.of_kind(kind)
        if not models:
            continue
        lines += ["", *_comment(title)]
        for i, model in enumerate(models):
            lines += ([""] if i else []) + _entry_lines(model)
    if any(len(line) > _WIDTH for line in lines[2:]):
        # A value (a Modelfile line, a long name) that cannot be wrapped without
        # changing it: say so to yamllint once, rather than alter the value.
        lines.insert(0, "# yamllint disable rule:line-length")
    return "---\n" + "\n".join(lines) + "\n"
