"""The manifest's JSON Schema, and its verdicts turned into one-line messages.

The schema (schemas/manifest.schema.json) is the single source of truth for
keys and types; it ships inside the wheel as provisioner/schemas/ and is read
from the repository's schemas/ folder in a source checkout. Messages a schema
cannot phrase well live in it too, as `errorMessage` / `patternErrorMessage`
(keywords the YAML language server also shows).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # jsonschema costs ~0.2 s to import: only a manifest not seen before pays
    from jsonschema import Draft202012Validator, ValidationError

from provisioner.cache import cache_root
from provisioner.manifest.yaml_loader import PathPart

SCHEMA_NAME = "manifest.schema.json"

# Keys people write for another one; difflib would not find these.
_SYNONYMS = {
    "model": "name",
    "tag": "name",
    "alias": "aliases",
    "base": "from",
    "params": "parameters",
    "options": "parameters",
    "path": "modelfile_path",
    "file": "modelfile_path",
    "keepalive": "keep_alive",
}
_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}
_PLAIN_EXAMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_./:-]*")


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """The schema: inside the installed package, else in the source checkout."""
    return load_schema(SCHEMA_NAME)


def load_schema(name: str) -> dict[str, Any]:
    """A schema of schemas/ (the manifest's, the inventory's): packaged, else the checkout's."""
    packaged = resources.files("provisioner").joinpath("schemas").joinpath(name)
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        text = (Path(__file__).resolve().parents[2] / "schemas" / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator(name: str = SCHEMA_NAME) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    # Local $refs inlined: the same rules, validated about a third faster.
    schema = load_schema(name)
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_inline_refs(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: _inline_refs(v, defs) for k, v in schema.items() if k not in ("$ref", "$defs")}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        result = {**_inline_refs(defs[ref.rsplit("/", 1)[1]], defs), **result}
    return result


@dataclass(frozen=True)
class SchemaIssue:
    """One schema verdict: the path it concerns, and whether to point at the key."""

    path: tuple[PathPart, ...]
    at_key: bool
    message: str


def check(data: Any, schema: str = SCHEMA_NAME) -> list[SchemaIssue]:
    """Every schema violation in data, at most one per path.

    A manifest found valid before (same schema, same content after ${VAR}
    expansion) is remembered by its hash in the cache folder, so a no-op apply
    does not import jsonschema at all; only valid documents are remembered.
    """
    seen = _seen_valid(data) if schema == SCHEMA_NAME else None
    if seen is not None and seen.exists():
        return []
    issues: dict[tuple[PathPart, ...], SchemaIssue] = {}
    for error in _validator(schema).iter_errors(data):
        for issue in _translate(error, data, manifest=schema == SCHEMA_NAME):
            issues.setdefault(issue.path, issue)
    if not issues and seen is not None:
        with contextlib.suppress(OSError):  # a cache we cannot write only costs time
            seen.parent.mkdir(parents=True, exist_ok=True)
            seen.touch()
    return list(issues.values())


@functools.cache
def _schema_text() -> str:
    """The schema in one canonical spelling, part of the key of a remembered verdict."""
    return json.dumps(manifest_schema(), sort_keys=True)


def _seen_valid(data: Any) -> Path | None:
    try:
        document = json.dumps(data, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    key = hashlib.sha256(f"{_schema_text()}\0{document}".encode()).hexdigest()
    return cache_root() / "valid-manifests" / key


def is_secret(path: Sequence[PathPart]) -> bool:
    """Header values are secrets: no message may show them."""
    if len(path) >= 3 and path[0] == "servers" and path[2] == "headers":
        return True  # an inventory's servers[i].headers
    return tuple(path[:2]) == ("server", "headers")


def where(path: Sequence[PathPart], data: Any) -> str:
    """A phrase naming a place in the document: "in model 'llama3.2'", "in 'server'"..."""
    if not path:
        return "at the top level"
    if path[0] in ("models", "servers") and len(path) >= 2 and isinstance(path[1], int):
        entry = model_label(path[1], data) if path[0] == "models" else server_label(path[1], data)
        rest = path[2:]
        return f"in {entry}" if not rest else f"in {_dotted(rest)} of {entry}"
    return f"in {_dotted(path)}"


def _dotted(path: Sequence[PathPart]) -> str:
    """'parameters', 'server.headers', 'messages[0]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f"'{text}'"


def model_label(index: int, data: Any) -> str:
    """ "model 'name'" when the entry has a usable name, else "models[i]"."""
    try:
        name = data["models"][index]["name"]
    except (KeyError, IndexError, TypeError):
        name = None
    return f"model {name!r}" if isinstance(name, str) and name else f"models[{index}]"


def server_label(index: int, data: Any) -> str:
    """ "server 'gpu-1'" when an inventory entry has a usable name, else "servers[i]"."""
    try:
        name = data["servers"][index]["name"]
    except (KeyError, IndexError, TypeError):
        name = None
    return f"server {name!r}" if isinstance(name, str) and name else f"servers[{index}]"


def subject(path: Sequence[PathPart], data: Any) -> str:
    """The value at path, named for a message: "'warm' in model 'x'", "aliases[1] in ..."."""
    if not path:
        return "the manifest"
    if path[0] == "models" and len(path) == 2 and isinstance(path[1], int):
        return model_label(path[1], data)
    if path[0] == "servers" and len(path) == 2 and isinstance(path[1], int):
        return server_label(path[1], data)
    if isinstance(path[-1], int) and len(path) >= 2:
        return f"{path[-2]}[{path[-1]}] {where(path[:-2], data)}"
    return f"'{path[-1]}' {where(path[:-1], data)}"


def with_place(message: str, place: str) -> str:
    """Insert "in <place>" before the advice part of a message ("what; what to do")."""
    what, sep, advice = message.partition("; ")
    return f"{what} {place}{sep}{advice}"


def suggestion(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when one choice is close, else ""."""
    options = list(choices)
    folded = {c.lower(): c for c in options}
    close = folded.get(word.lower()) or _SYNONYMS.get(word.lower())
    if close not in options:
        matches = get_close_matches(word, options, n=1, cutoff=0.6)
        close = matches[0] if matches else None
    return f" (did you mean '{close}'?)" if close and close != word else ""


def _translate(error: ValidationError, data: Any, *, manifest: bool = True) -> list[SchemaIssue]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "additionalProperties":
        return _unknown_keys(error, path, data, manifest=manifest)
    if kind == "propertyNames":
        return []  # reported by the nested error of the name itself
    if kind == "pattern" and "propertyNames" in error.relative_schema_path:
        key = str(_instance(error))
        return [SchemaIssue((*path, key), True, f"'{key}' {schema['patternErrorMessage']}")]
    if kind == "required":
        return _missing_keys(error, path, data)
    if "errorMessage" in schema:
        message = schema["errorMessage"]
        if len(path) > 1:
            message = with_place(message, where(path[:-1], data))
        return [SchemaIssue(path, kind == "not", message)]
    if kind == "pattern" and "patternErrorMessage" in schema:
        return [SchemaIssue(path, False, f"{subject(path, data)} {schema['patternErrorMessage']}")]
    if kind == "type":
        return [SchemaIssue(path, False, _type_message(error, path, data))]
    if kind == "enum":
        return [SchemaIssue(path, False, _enum_message(error, path, data))]
    if kind == "minLength":
        return [SchemaIssue(path, False, f"{subject(path, data)} is empty")]
    if is_secret(path):
        return [SchemaIssue(path, False, f"{subject(path, data)} is not valid")]
    return [SchemaIssue(path, False, f"{subject(path, data)}: {error.message}")]


def _given(error: ValidationError) -> Any:
    """The schema value the failed keyword holds (the stubs allow `Unset`)."""
    return cast(Any, error.validator_value)


def _instance(error: ValidationError) -> Any:
    return cast(Any, error.instance)


def _unknown_keys(
    error: ValidationError, path: tuple[PathPart, ...], data: Any, *, manifest: bool = True
) -> list[SchemaIssue]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    issues = []
    for key in _instance(error):
        if key in known or any(p.search(key) for p in patterns):
            continue
        hint = suggestion(key, known)
        if not hint and path == ("defaults",) and key in _section_keys()["model"]:
            hint = f"; '{key}' cannot be a default, set it on each model"
        elif not hint and manifest:  # the manifest's other sections, not an inventory's
            hint = _elsewhere(key)
        issues.append(
            SchemaIssue((*path, key), True, f"unknown key '{key}' {where(path, data)}{hint}")
        )
    return issues


@functools.cache
def _section_keys() -> dict[str, list[str]]:
    schema = manifest_schema()
    top = schema["properties"]
    return {
        "the top level": list(top),
        "'server'": list(top["server"]["properties"]),
        "'prune'": list(top["prune"]["properties"]),
        "model": list(schema["$defs"]["model"]["properties"]),
    }


def _elsewhere(key: str) -> str:
    """ " ('timeout' belongs in 'server')" when the key is valid in another place."""
    for place, keys in _section_keys().items():
        if key in keys:
            where = (
                "in a model entry"
                if place == "model"
                else ("at the top level" if place == "the top level" else f"in {place}")
            )
            return f" ('{key}' belongs {where})"
    return ""


def _missing_keys(
    error: ValidationError, path: tuple[PathPart, ...], data: Any
) -> list[SchemaIssue]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    issues = []
    for key in _given(error):
        if key in _instance(error):
            continue
        example = _example(_resolve(schema.get("properties", {}).get(key, {})))
        hint = f"; add it, e.g. {key}: {example}" if example else "; add it"
        issues.append(SchemaIssue(path, False, f"missing key '{key}' {where(path, data)}{hint}"))
    return issues


def _type_message(error: ValidationError, path: tuple[PathPart, ...], data: Any) -> str:
    expected = _given(error)
    wanted = [expected] if isinstance(expected, str) else list(expected)
    words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
    actual = _describe(_instance(error), secret=is_secret(path))
    if not path:
        return (
            f"the manifest must be a mapping with keys such as 'version' and 'models', not {actual}"
        )
    message = f"{subject(path, data)} must be {words}, not {actual}"
    if is_secret(path):
        return f"{message}; quote the value"
    example = _example(error.schema) if isinstance(error.schema, dict) else None
    if example and isinstance(path[-1], str):
        return f"{message}; e.g. {path[-1]}: {example}"
    return message


def _enum_message(error: ValidationError, path: tuple[PathPart, ...], data: Any) -> str:
    allowed = [str(v) for v in _given(error)]
    choices = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
    value = _instance(error)
    shown = f", not {_describe(value)}"
    hint = suggestion(value, allowed) if isinstance(value, str) else ""
    return f"{subject(path, data)} must be {choices}{shown}{hint}"


def _describe(value: Any, *, secret: bool = False) -> str:
    """The value itself when short and not secret, else its kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number" if secret else str(value)
    if isinstance(value, str):
        return "text" if secret or len(value) > 40 or "\n" in value else repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "empty"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target: dict[str, Any] = manifest_schema()["$defs"][ref.rsplit("/", 1)[1]]
        return target
    return schema


def _example(schema: dict[str, Any]) -> str | None:
    """The first example of a schema, as short YAML flow text (None when unsuitable)."""
    examples = schema.get("examples") or _resolve(schema).get("examples")
    if not examples:
        return None
    text = _flow(examples[0])
    return text if len(text) <= 60 and "\n" not in text else None


def _flow(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return value if _PLAIN_EXAMPLE.fullmatch(value) else json.dumps(value)
    return json.dumps(value)
