"""Modelfile text -> CreateSpec: the meaning Ollama's CreateRequest gives each command.

As Ollama: an empty TEMPLATE or SYSTEM means "not set" (Ollama omits it from
the request); `PARAMETER stop` accumulates, any other repeated command or
parameter replaces, LICENSE and MESSAGE accumulate; only the last ADAPTER
counts; a parameter named like a command (`PARAMETER system x`, also model,
adapter, template, license, message, requires) acts as that command.
Ours: a second FROM is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.custom.modelfile.grammar import ROLES, Command, Origin, tokenize
from provisioner.custom.modelfile.parameters import UnknownParameter, is_deprecated, typed
from provisioner.custom.modelfile.paths import resolve_adapter, resolve_from
from provisioner.custom.modelfile.requires import requires
from provisioner.types.manifest import CreateSpec


def parse_modelfile(text: str, *, source: str, base_dir: Path) -> CreateSpec:
    """Parse Modelfile text into a CreateSpec; raise ModelfileError at the first problem."""
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


def _build(commands: list[Command], origin: Origin) -> tuple[CreateSpec, list[str]]:
    fields: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    messages: list[tuple[str, str]] = []
    licenses: list[str] = []
    warnings: list[str] = []
    first: dict[str, Command] = {}
    for command in commands:
        name = command.name
        if name in ("model", "adapter") and name in first:
            _repeated(command, first[name], origin, warnings)
        first.setdefault(name, command)
        if name == "model":
            fields["from_"], fields["from_is_path"] = resolve_from(command, origin)
        elif name == "adapter":
            fields["adapters"] = (resolve_adapter(command, origin),)
        elif name in ("template", "system"):
            fields[name] = command.args or None  # Ollama omits an empty one
        elif name == "license":
            licenses.append(command.args)
        elif name == "requires":
            fields["requires"] = requires(command, origin)
        elif name == "message":
            messages.append(_message(command, origin))
        elif is_deprecated(name):
            message = f"parameter '{name}' is deprecated and Ollama ignores it: remove it"
            warnings.append(origin.warning(command.at, message))
        else:
            _add_parameter(parameters, command, origin)
    spec = CreateSpec(
        **fields, parameters=parameters, messages=tuple(messages), license=tuple(licenses)
    )
    return spec, warnings


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
