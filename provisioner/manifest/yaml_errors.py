"""YAML syntax errors as one line a user can act on: PyYAML's wording, translated."""

from __future__ import annotations

from typing import Any

import yaml

from provisioner.errors import Position, Problem


def mark_position(mark: Any) -> tuple[int, int]:
    """1-based (line, column) of a parser mark (the stubs allow None)."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


_SYNTAX_HINTS = {
    "found a tab character that violates indentation": (
        "a tab is used for indentation; indent with spaces"
    ),
    "mapping values are not allowed in this context": (
        "unexpected ':' here; quote a value that contains ': ', or check the indentation"
    ),
    "did not find expected key": "expected 'key: value' here; check the indentation",
    "could not find expected ':'": "expected 'key: value' here; check the indentation",
    "did not find expected '-' indicator": (
        "expected a '- ' list item here; check the indentation"
    ),
    "did not find expected ',' or ']'": "a '[' list is not closed with ']', or needs quotes",
    "did not find expected ',' or '}'": "a '{' mapping is not closed with '}', or needs quotes",
    "found unexpected end of stream": "a quoted value is not closed; add the closing quote",
    "found undefined tag handle": "unsupported YAML tag; remove the tag",
}


def syntax_problem(e: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    problem = e.problem or "invalid YAML"
    mark = e.problem_mark or e.context_mark
    line, column = mark_position(mark)
    message = _SYNTAX_HINTS.get(problem)
    if problem == "found unexpected end of stream" and e.context_mark is not None:
        line, column = mark_position(e.context_mark)
    if problem == "found character that cannot start any token" and mark is not None:
        char = text[mark.index] if mark.index < len(text) else ""
        if char == "\t":
            message = "a tab is used for indentation; indent with spaces"
        else:
            message = f"a value cannot start with {char!r}; put the value in quotes"
    if message is None:
        context = f" ({e.context})" if e.context else ""
        message = f"invalid YAML: {problem}{context}"
    return Problem(Position(file, line, column), "", message)
