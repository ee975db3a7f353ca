"""The one parameter table: the published schema agrees with it, and typed() gives every
form (Modelfile text, the manifest's JSON values, /api/show's) the same value."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.custom.modelfile.parameters import (
    PARAMETERS,
    Kind,
    UnknownParameter,
    is_deprecated,
    typed,
)
from provisioner.manifest.schema import manifest_schema

_SCHEMA_KINDS = {"integer": Kind.INTEGER, "number": Kind.NUMBER, "boolean": Kind.BOOLEAN}


def _schema_kind(prop: dict[str, Any]) -> Kind:
    kind = prop["type"]
    if kind == ["string", "array"] and prop["items"]["type"] == "string":
        return Kind.TEXTS
    return _SCHEMA_KINDS[kind]


def test_the_schema_declares_the_tables_names_kinds_and_deprecations() -> None:
    properties = manifest_schema()["$defs"]["parameters"]["properties"]
    from_schema = {
        name: (_schema_kind(p), bool(p.get("deprecated"))) for name, p in properties.items()
    }
    from_table = {name: (p.kind, p.deprecated) for name, p in PARAMETERS.items()}
    assert from_schema == from_table


def test_kinds_are_named_as_the_schema_names_its_types() -> None:
    assert {k.value for k in _SCHEMA_KINDS.values()} == set(_SCHEMA_KINDS)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("num_ctx", "8192", 8192),
        ("num_ctx", 8192, 8192),
        ("num_ctx", 8192.0, 8192),  # JSON Schema's integer takes 8192.0
        ("temperature", "0.7", 0.7),
        ("temperature", 0.7, 0.7),
        ("temperature", 1, 1.0),
        ("temperature", 0.1 + 0.2, 0.3),  # the CLI's float32, shortest decimal
        ("temperature", -0.0, -0.0),
        ("use_mmap", "false", False),
        ("use_mmap", True, True),
        ("stop", "</s>", ["</s>"]),
        ("stop", ["a", "b"], ["a", "b"]),
    ],
)
def test_typed_gives_text_and_json_values_the_same_meaning(
    name: str, value: object, expected: object
) -> None:
    got = typed(name, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("num_ctx", "8k", "an integer"),
        ("num_ctx", 1.5, "an integer"),
        ("num_ctx", True, "an integer"),
        ("seed", 2**63, "an integer between -9223372036854775808 and 9223372036854775807"),
        ("temperature", 1e39, "a number within the float32 range (about ±3.4e38)"),
        ("temperature", 10**400, "a number within the float32 range (about ±3.4e38)"),
        ("temperature", float("nan"), "a finite number"),
        ("temperature", "inf", "a finite number"),
        ("use_mmap", 1, "true or false"),
        ("stop", 5, "text or a list of texts"),
        ("stop", ["a", 5], "text or a list of texts"),
    ],
)
def test_typed_says_what_was_expected(name: str, value: object, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        typed(name, value)
    assert str(caught.value) == expected


def test_an_unknown_name_suggests_the_closest_current_one() -> None:
    with pytest.raises(UnknownParameter) as caught:
        typed("Temperature", 0.5)
    assert "did you mean 'temperature'?" in str(caught.value)
    assert is_deprecated("mirostat") and not is_deprecated("temperature")
    assert not is_deprecated("no_such_parameter")


def test_the_modelfile_package_and_the_lock_reader_load_no_http_client() -> None:
    import subprocess
    import sys

    modules = [
        *(f"provisioner.custom.modelfile.{m}" for m in ("grammar", "parse", "paths")),
        *(f"provisioner.custom.modelfile.{m}" for m in ("write", "request", "parameters")),
        "provisioner.custom.definition",
        "provisioner.custom.hash_cache",
        "provisioner.manifest.lock",
        "provisioner.manifest.load",
    ]
    code = f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; "
    code += "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'provisioner.server'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
