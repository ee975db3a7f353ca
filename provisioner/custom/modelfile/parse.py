"""Modelfile text -> CreateSpec: the meaning Ollama's CreateRequest gives each command.

As Ollama: an empty TEMPLATE or SYSTEM means "not set" (Ollama omits it from
the request); `PARAMETER stop` accumulates, any other repeated command or
parameter replaces, LICENSE and MESSAGE accumulate; only the last ADAPTER
counts; a parameter named like a command (`PARAMETER system x`, also model,
adapter, template, license, message, requires) acts as that command.
Ours: a second FROM is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.custom.modelfile.grammar import ROLES, Command, Origin, tokenize
from provisioner.custom.modelfile.parameters import UnknownParameter, is_deprecated, typed
from provisioner.custom.modelfile.paths import resolve_adapter, resolve_from
from provisioner.custom.modelfile.requires import requires
from provisioner.errors import ModelfileError
from provisioner.types.manifest import CreateSpec


def parse_modelfile(text: str, *, source: str, base_dir: Path) -> CreateSpec:
    """Parse Modelfile text into a CreateSpec; raise ModelfileError naming the first
    problem, with the others in `more` (a syntax error stops the reading there)."""
    return parse_modelfile_with_warnings(text, source=source, base_dir=base_dir)[0]


def parse_modelfile_with_warnings(
    text: str, *, source: str, base_dir: Path
) -> tuple[CreateSpec, list[str]]:
    """Like parse_modelfile, plus warnings ("file:line:col: message") for what Ollama ignores."""
    spec, warnings, _ = parse_modelfile_located(text, source=source, base_dir=base_dir)
    return spec, warnings


def parse_modelfile_located(
    text: str, *, source: str, base_dir: Path
) -> tuple[CreateSpec, list[str], tuple[int, int]]:
    """Like parse_modelfile_with_warnings, plus the line and column of the FROM value
    (where a problem with the base, found later, is reported)."""
    origin = Origin(text.removeprefix("\ufeff"), source, base_dir)
    commands = tokenize(origin)
    froms = [command for command in commands if command.name == "model"]
    if not froms:
        raise origin.error(0, "no FROM line: add `FROM <model or path>`")
    spec, warnings = _build(commands, origin)
    return spec, warnings, origin.where(froms[0].value_at)


@dataclass
class _Reading:
    """What the commands read so far will put in the request."""

    fields: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    messages: list[tuple[str, str]] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first: dict[str, Command] = field(default_factory=dict)


def _build(commands: list[Command], origin: Origin) -> tuple[CreateSpec, list[str]]:
    r = _Reading()
    problems: list[ModelfileError] = []  # every command is read: each problem is said
    for command in commands:
        try:
            _read(command, r, origin)
        except ModelfileError as e:
            problems.append(e)
    if problems:
        head, *rest = problems
        raise ModelfileError(
            head.message, file=head.file, line=head.line, column=head.column, more=tuple(rest)
        )
    spec = CreateSpec(
        **r.fields, parameters=r.parameters, messages=tuple(r.messages), license=tuple(r.licenses)
    )
    return spec, r.warnings


def _read(command: Command, r: _Reading, origin: Origin) -> None:
    """One command into what the request will hold."""
    name = command.name
    if name in ("model", "adapter") and name in r.first:
        _repeated(command, r.first[name], origin, r.warnings)
    r.first.setdefault(name, command)
    if name == "model":
        r.fields["from_"], r.fields["from_is_path"] = resolve_from(command, origin)
    elif name == "adapter":
        r.fields["adapters"] = (resolve_adapter(command, origin),)
    elif name in ("template", "system"):
        r.fields[name] = command.args or None  # Ollama omits an empty one
    elif name == "license":
        r.licenses.append(command.args)
    elif name == "requires":
        r.fields["requires"] = requires(command, origin)
    elif name == "message":
        r.messages.append(_message(command, origin))
    elif is_deprecated(name):
        message = f"parameter '{name}' is deprecated and Ollama ignores it: remove it"
        r.warnings.append(origin.warning(command.at, message))
    else:
        _add_parameter(r.parameters, command, origin)


def _repeated(command: Command, first: Command, origin: Origin, warnings: list[str]) -> None:
    line = origin.where(first.at)[0]
    if command.name == "model":
        raise origin.error(command.at, f"second FROM (the first is on line {line}): keep one")
    message = f"this ADAPTER replaces the one on line {line}: Ollama uses only the last"
    warnings.append(origin.warning(command.at, message))


def _message(command: Command, origin: Origin) -> tuple[str, str]:
    role, _, content = command.args.partition(": ")  # Ollama's strings.Cut
    if role not in ROLES:  # only reachable through `PARAMETER message ...`
        raise origin.error(
            command.value_at, f"invalid message role '{role}': use system, user or assistant"
        )
    return role, content


def _add_parameter(parameters: dict[str, Any], command: Command, origin: Origin) -> None:
    name, text = command.name, command.args
    try:
        value = typed(name, text)
    except UnknownParameter as err:
        raise origin.error(command.name_at, str(err)) from None
    except ValueError as err:
        message = f"invalid value '{text}' for parameter '{name}': expected {err}"
        raise origin.error(command.value_at, message) from None
    if name in parameters and isinstance(value, list):  # stop accumulates, the rest replace
        value = [*parameters[name], *value]
    parameters[name] = value
