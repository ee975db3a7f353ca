"""Does a custom model on the server still match its declaration?

Compares a CreateSpec with POST /api/show. Only what the declaration states
is compared: a field left out may be inherited from the base model, and
inherited parameters cannot be removed on the server anyway.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .client import ShowResult
from .create_spec import CreateSpec
from .names import InvalidName, parse_name


def parse_show_parameters(text: str) -> dict[str, Any]:
    """Read /api/show's `parameters` (one `%-30s %#v` line per value, stop repeated)."""
    params: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, raw = line.strip().partition(" ")
        raw = raw.strip()
        if not key:
            continue
        value: Any
        if raw.startswith('"'):
            try:
                value = json.loads(raw)  # Go's %#v quoting is JSON-compatible for text
            except json.JSONDecodeError:
                value = raw.strip('"')
        elif raw in ("true", "false"):
            value = raw == "true"
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        if key == "stop":
            params.setdefault("stop", []).append(value)
        else:
            params[key] = value
    return params


def _same_value(want: Any, have: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        # Ollama keeps float parameters as float32: compare at that precision.
        return math.isclose(float(want), float(have), rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(want, list) and isinstance(have, list):
        return sorted(map(str, want)) == sorted(map(str, have))
    return bool(want == have)


def _parameter_differences(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    out = []
    for key, value in want.items():
        if key not in have:
            out.append(f"parameter {key}: server has none, declared {value!r}")
        elif not _same_value(value, have[key]):
            out.append(f"parameter {key}: server has {have[key]!r}, declared {value!r}")
    return out


def _base_difference(spec: CreateSpec, show: ShowResult) -> str | None:
    if spec.from_is_path:
        return None  # compared by weight digest in blobs.py, not by name
    parent = str(show.details.get("parent_model") or "")
    if not parent:
        return None
    try:
        same = parse_name(parent).key == parse_name(spec.from_).key
    except InvalidName:
        return None  # a blob path or file name: not a model reference
    return None if same else f"base: server has {parent}, declared {spec.from_}"


def definition_differences(spec: CreateSpec, show: ShowResult) -> tuple[str, ...]:
    """What differs between the declaration and the server, one short line each."""
    out: list[str] = []
    if spec.system is not None and show.system != spec.system:
        out.append("system prompt differs")
    if spec.template is not None and show.template != spec.template:
        out.append("template differs")
    if spec.license and show.license != "\n".join(spec.license):
        out.append("license differs")
    if spec.messages:
        have = tuple((str(m.get("role")), str(m.get("content"))) for m in show.messages)
        if have != tuple(spec.messages):
            out.append("messages differ")
    out += _parameter_differences(spec.parameters, parse_show_parameters(show.parameters))
    base = _base_difference(spec, show)
    if base:
        out.append(base)
    return tuple(out)
