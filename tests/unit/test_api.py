"""provisioner.loads: a manifest from text or plain data goes through the same loader,
schema and messages as a manifest file (what the Ansible module's inline `models` use)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import provisioner
from provisioner.errors import ManifestError, Position


def _problems(document: str | dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        provisioner.loads(document, source="<ansible>")
    return [str(p) for p in caught.value.problems]


def test_a_mapping_gives_the_same_manifest_as_the_file(tmp_path: Path) -> None:
    text = "version: 1\nmodels:\n  - name: Tiny\n    insecure: true\n    warm: true\n"
    (tmp_path / "models.yaml").write_text(text)
    from_file = provisioner.load(tmp_path / "models.yaml")
    data = {"version": 1, "models": [{"name": "Tiny", "insecure": True, "warm": True}]}
    inline = provisioner.loads(data, source="models.yaml", base_dir=tmp_path)
    assert [m.name.display for m in inline.models] == ["Tiny:latest"]
    # Positions differ (the inline form is written out one key per line); nothing else.
    nowhere = Position("", 0, 0)
    assert [replace(m, position=nowhere) for m in inline.models] == [
        replace(m, position=nowhere) for m in from_file.models
    ]
    assert inline.path == from_file.path


def test_text_is_read_like_a_file() -> None:
    manifest = provisioner.loads("version: 1\nmodels:\n  - name: tiny\n", source="<ansible>")
    assert manifest.models[0].position.file == "<ansible>"
    assert manifest.path == Path.cwd() / "<ansible>"


def test_every_problem_is_reported_with_the_schema_messages() -> None:
    data = {"version": 1, "models": [{"name": "Bad Name!"}, {"nme": "tiny"}]}
    assert _problems(data) == [
        "<ansible>:5:15: invalid model name 'Bad Name!': invalid model 'Bad Name!'; "
        "write [host/][namespace/]model[:tag], e.g. llama3.2 or qwen2.5-coder:7b",
        "<ansible>:7:5: missing key 'name' in models[1]; add it, e.g. name: llama3.2",
        "<ansible>:8:7: unknown key 'nme' in models[1] (did you mean 'name'?)",
    ]


def test_values_keep_their_types() -> None:
    # Written as YAML 1.1 some of these would be read back as numbers or booleans.
    data = {"version": 1, "models": [{"name": "tiny", "keep_alive": "1:30"}]}
    assert _problems(data) == [
        "<ansible>:6:21: invalid 'keep_alive' in model 'tiny': unknown unit ':' in '1:30'; "
        "use ns, us, ms, s, m or h, e.g. 30s or 1h30m"
    ]
    assert _problems({"version": 1, "models": [{"name": "tiny", "pull": "0o17"}]}) == [
        "<ansible>:6:15: 'pull' in model 'tiny' must be if-missing or always, not '0o17'"
    ]


def test_what_is_not_plain_data_is_one_line() -> None:
    assert _problems({"version": 1, "models": [{"name": Path("tiny")}]}) == [
        "<ansible>:1:1: a manifest holds text, numbers, booleans, lists and mappings, "
        "not PosixPath; convert it first"
    ]
    assert _problems({"version": 1, "models": [{"name": "tiny", "keep_alive": float("nan")}]}) == [
        "<ansible>:1:1: every number in a manifest must be finite, not nan or inf"
    ]
