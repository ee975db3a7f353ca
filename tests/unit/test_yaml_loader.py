"""The positioned YAML loader: YAML 1.2 core scalars, merge keys, positions."""

from __future__ import annotations

import math

import pytest

from provisioner.manifest.yaml_loader import (
    Mapping,
    Scalar,
    Sequence,
    compose,
    find,
    resolve_plain,
    to_plain,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("~", None),
        ("null", None),
        ("true", True),
        ("False", False),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("12", 12),
        ("-3", -3),
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.inf", -math.inf),
        ("2024-01-01", "2024-01-01"),
        ("7b", "7b"),
        ("9" * 5000, "9" * 5000),
    ],
)
def test_plain_scalars_resolve_by_the_yaml_12_core_schema(text: str, value: object) -> None:
    assert resolve_plain(text) == value


def test_nan() -> None:
    value = resolve_plain(".nan")
    assert isinstance(value, float) and math.isnan(value)


def test_values_keep_their_positions() -> None:
    root, problems, _ = compose("a:\n  - x: 1\n    y: [2, 'z']\n", "f.yaml")
    assert problems == []
    assert root is not None
    node, key = find(root, ("a", 0, "y", 1))
    assert isinstance(node, Scalar) and (node.line, node.column, node.value) == (3, 12, "z")
    assert key is None
    node, key = find(root, ("a", 0, "y"))
    assert isinstance(node, Sequence) and key is not None and (key.line, key.column) == (3, 5)
    assert to_plain(root) == {"a": [{"x": 1, "y": [2, "z"]}]}


def test_merge_keys_and_explicit_keys_win() -> None:
    root, problems, _ = compose(
        "base: &b {warm: true, pull: always}\nm:\n  <<: *b\n  warm: false\n", "f.yaml"
    )
    assert problems == []
    assert root is not None and isinstance(root, Mapping)
    assert to_plain(root)["m"] == {"warm": False, "pull": "always"}


def test_explicit_core_tags_are_allowed_and_others_flagged() -> None:
    root, problems, flagged = compose("a: !!str 5\nb: !!int '7'\nc: !foo x\nd: !!int x\n", "f")
    assert root is not None
    assert to_plain(root) == {"a": "5", "b": 7, "c": "x", "d": "x"}
    assert [str(p) for p in problems] == [
        "f:3:4: unsupported YAML tag '!foo'; remove the tag",
        "f:4:4: 'x' is not a valid !!int",
    ]
    assert [p.path for p in problems] == ["/c", "/d"]
    assert {id(find(root, (k,))[0]) for k in "cd"} == flagged
