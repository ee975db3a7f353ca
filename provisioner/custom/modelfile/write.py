"""CreateSpec -> Modelfile text that parses back to it."""

from __future__ import annotations

from typing import Any

from provisioner.custom.modelfile.grammar import BLANK, NEWLINE, ROLES, TRIM
from provisioner.custom.modelfile.parameters import PARAMETERS, Kind, unknown_parameter
from provisioner.custom.printable import printable_only
from provisioner.types.manifest import CreateSpec


def to_modelfile(spec: CreateSpec) -> str:
    """Modelfile text that parses back to `spec`.

    Raises ValueError for what a Modelfile cannot say: more than one adapter (Ollama
    keeps only the last ADAPTER), an unknown parameter, a non-printable character
    other than tab and line breaks, or a multi-line value with a line (not the last)
    that ends in \"\"\" (there are no escapes). An empty template or system is left
    out (it means "not set"); quantize is not a Modelfile command and becomes a comment.
    """
    if len(spec.adapters) > 1:
        raise ValueError("a Modelfile holds one ADAPTER; Ollama ignores all but the last")
    lines = [f"# quantize {spec.quantize} (ollama create --quantize)"] if spec.quantize else []
    lines.append(f"FROM {_quote(spec.from_)}")
    lines += [f"ADAPTER {_quote(path)}" for path in spec.adapters]
    lines += [f"TEMPLATE {_quote(spec.template)}"] if spec.template else []
    lines += [f"SYSTEM {_quote(spec.system)}"] if spec.system else []
    for name, value in spec.parameters.items():
        for item in _parameter_lines(name, value):
            lines.append(f"PARAMETER {name} {_quote(item)}")
    for role, content in spec.messages:
        if role not in ROLES:
            raise ValueError(f"invalid message role '{role}': use system, user or assistant")
        lines.append(f"MESSAGE {role} {_quote(content)}")
    lines += [f"LICENSE {_quote(text)}" for text in spec.license]
    lines += [f"REQUIRES {_quote(spec.requires)}"] if spec.requires else []
    return "\n".join(lines) + "\n"


def _parameter_lines(name: str, value: Any) -> list[str]:
    """The values of one parameter as PARAMETER lines write them (stop: one line each)."""
    parameter = PARAMETERS.get(name)
    if parameter is None:
        raise ValueError(unknown_parameter(name))
    if parameter.deprecated:
        raise ValueError(f"parameter '{name}' is deprecated: Ollama ignores it")
    if parameter.kind is Kind.TEXTS:
        return list(value)
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [repr(value) if isinstance(value, float) else str(value)]


def _quote(value: str) -> str:
    """The plainest form that reads back as value: bare, "quoted", or \"\"\"triple-quoted\"\"\"."""
    if printable_only(value, keep=TRIM) != value:
        raise ValueError(f"{value!r}: a Modelfile drops non-printable characters")
    starts_with_quote = value.startswith('"')
    if not any(c in NEWLINE for c in value) and not starts_with_quote:
        return value if value and value == value.strip(BLANK) else f'"{value}"'
    # Ollama ends the value at the first line break where the text so far ends in """.
    if any(value[:i].rstrip(TRIM).endswith('"""') for i, c in enumerate(value) if c in NEWLINE):
        raise ValueError(f'{value!r}: a line ending in """ cannot be inside a multi-line value')
    return f'"""{value}"""'
