"""The model parameters Ollama knows (api.Options), each with its kind: the one table the
Modelfile parser, the manifest's structured form, export and the create request read.

schemas/manifest.schema.json states the same names and kinds for editors
(`$defs.parameters`); a unit test fails when the two disagree. v0.32.15 adds
draft_num_predict (older servers store and ignore it). The deprecated ones are
dropped with a warning wherever they are written, as Ollama ignores them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from enum import Enum

from provisioner.custom.modelfile import values

Value = int | float | bool | list[str]


class Kind(Enum):
    """What a parameter holds (named as the schema's `type`), and how text reads as one."""

    INTEGER = "integer"  # int64, strconv.ParseInt
    NUMBER = "number"  # float32, strconv.ParseFloat(s, 32)
    BOOLEAN = "boolean"  # strconv.ParseBool
    TEXTS = "texts"  # stop: one text per PARAMETER line, or a list

    @property
    def expected(self) -> str:
        """What a value of this kind is, in words, for an error."""
        return _EXPECTED[self]


_EXPECTED = {
    Kind.INTEGER: values.AN_INTEGER,
    Kind.NUMBER: values.A_NUMBER,
    Kind.BOOLEAN: values.TRUE_OR_FALSE,
    Kind.TEXTS: "text or a list of texts",
}


@dataclass(frozen=True)
class Parameter:
    kind: Kind
    deprecated: bool = False


def _each(kind: Kind, names: str, *, deprecated: bool = False) -> dict[str, Parameter]:
    return dict.fromkeys(names.split(), Parameter(kind, deprecated))


PARAMETERS: Mapping[str, Parameter] = {
    **_each(Kind.INTEGER, "num_ctx num_batch num_gpu main_gpu num_thread num_keep"),
    **_each(Kind.INTEGER, "seed num_predict top_k repeat_last_n draft_num_predict"),
    **_each(Kind.NUMBER, "top_p min_p typical_p temperature repeat_penalty"),
    **_each(Kind.NUMBER, "presence_penalty frequency_penalty"),
    "use_mmap": Parameter(Kind.BOOLEAN),
    "stop": Parameter(Kind.TEXTS),
    **_each(Kind.BOOLEAN, "penalize_newline low_vram f16_kv logits_all", deprecated=True),
    **_each(Kind.BOOLEAN, "vocab_only use_mlock", deprecated=True),
    "mirostat": Parameter(Kind.INTEGER, deprecated=True),
    **_each(Kind.NUMBER, "mirostat_tau mirostat_eta", deprecated=True),
}
_CURRENT = tuple(name for name, p in PARAMETERS.items() if not p.deprecated)


class UnknownParameter(ValueError):
    """A name Ollama does not know; the message suggests the closest one."""


def is_deprecated(name: str) -> bool:
    parameter = PARAMETERS.get(name)
    return parameter is not None and parameter.deprecated


def unknown_parameter(name: str) -> str:
    """The one line for a parameter name Ollama does not know."""
    close = get_close_matches(name.lower(), _CURRENT, n=1)
    if close:
        return f"unknown parameter '{name}': did you mean '{close[0]}'? (names are case-sensitive)"
    return f"unknown parameter '{name}': use one of {', '.join(sorted(_CURRENT))}"


def typed(name: str, value: object) -> Value:
    """The value of parameter `name` as Ollama keeps it.

    Text is read as a PARAMETER line gives it (Go's strconv); a JSON value (the
    manifest's, /api/show's, a CreateSpec's) is checked against the kind. A number
    becomes the float32 the Ollama CLI sends; stop becomes a list. ValueError says
    what was expected ("an integer"); UnknownParameter for a name Ollama does not know.
    """
    parameter = PARAMETERS.get(name)
    if parameter is None:
        raise UnknownParameter(unknown_parameter(name))
    kind = parameter.kind
    if kind is Kind.TEXTS:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, (list, tuple)) and all(isinstance(v, str) for v in items):
            return list(items)
        raise ValueError(kind.expected)
    if isinstance(value, str):
        return _FROM_TEXT[kind](value)
    if kind is Kind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is Kind.BOOLEAN or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(kind.expected)
    if kind is Kind.NUMBER:
        return values.number32(value)
    if isinstance(value, float) and not (math.isfinite(value) and value == int(value)):
        raise ValueError(kind.expected)
    return values.int64(int(value))


_FROM_TEXT: dict[Kind, Callable[[str], Value]] = {
    Kind.INTEGER: values.parse_int,
    Kind.NUMBER: values.parse_float,
    Kind.BOOLEAN: values.parse_bool,
}
