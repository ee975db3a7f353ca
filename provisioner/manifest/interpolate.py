"""`${VAR}` and `${VAR:-default}` in manifest values, expanded after parsing.

Expansion happens inside scalar values of the parsed tree, never on the raw
text, so an environment value cannot add YAML structure. An unquoted value is
typed again after expansion (`warm: ${WARM:-false}` is a boolean); a quoted
one stays text. `$${` writes a literal `${`. Keys are not expanded.
Messages name variables, never their values (header values are secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping as EnvMapping

from provisioner.errors import Position, Problem
from provisioner.manifest.yaml_loader import (
    Mapping,
    Node,
    PathPart,
    Scalar,
    Sequence,
    pointer,
    position_in,
    resolve_plain,
)

_REF = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<close>\})?")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<default>:-.*)?", re.DOTALL)


def expand_tree(
    root: Node, text: str, file: str, env: EnvMapping[str, str]
) -> tuple[list[Problem], set[int]]:
    """Expand every scalar value in place; return problems and the ids of failed nodes."""
    problems: list[Problem] = []
    failed: set[int] = set()
    seen: set[int] = set()
    pending: list[tuple[Node, tuple[PathPart, ...]]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            pending.extend((value, (*path, key)) for key, (_, value) in node.entries.items())
        elif isinstance(node, Sequence):
            pending.extend((item, (*path, i)) for i, item in enumerate(node.items))
        elif isinstance(node, Scalar) and isinstance(node.value, str) and "${" in node.value:
            found = _expand_scalar(node, pointer(path), text, file, env)
            if found:
                problems.extend(found)
                failed.add(id(node))
    return problems, failed


def _expand_scalar(
    node: Scalar, where: str, text: str, file: str, env: EnvMapping[str, str]
) -> list[Problem]:
    assert isinstance(node.value, str)
    value = node.value
    problems: list[Problem] = []
    out: list[str] = []
    last = 0
    raw_from = node.start
    for m in _REF.finditer(value):
        out.append(value[last : m.start()])
        last = m.end()
        raw_at = text.find(m.group(0), raw_from, max(node.end, raw_from))
        if raw_at >= 0:
            raw_from = raw_at + len(m.group(0))
        if m.group(0) == "$${":
            out.append("${")
            continue
        replacement, message = _substitute(m, env)
        if message is None:
            out.append(replacement)
            continue
        line, column = position_in(text, raw_at) if raw_at >= 0 else (node.line, node.column)
        problems.append(Problem(Position(file, line, column), where, message))
    if problems:
        return problems
    out.append(value[last:])
    expanded = "".join(out)
    node.value = resolve_plain(expanded) if node.plain else expanded
    return []


def _substitute(m: re.Match[str], env: EnvMapping[str, str]) -> tuple[str, str | None]:
    body = m.group("body")
    if m.group("close") is None:
        return "", "'${' is not closed; write ${NAME} or ${NAME:-default} ($${ for a literal ${)"
    ref = _BODY.fullmatch(body)
    if ref is None:
        return "", (
            f"'${{{body}}}' is not a variable reference; write ${{NAME}} or "
            "${NAME:-default} ($${ for a literal ${)"
        )
    name, default = ref.group("name"), ref.group("default")
    value = env.get(name)
    if default is not None and not value:
        return default[2:], None
    if value is None:
        return "", (
            f"environment variable {name} is not set; set it, or write ${{{name}:-default}}"
        )
    return value, None
