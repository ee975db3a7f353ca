"""`init` and the safe manifest writer it shares with `export`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.errors import InvalidOutput, WouldOverwrite
from provisioner.manifest.files import SCHEMA_URL, write_manifest
from provisioner.manifest.load import load_manifest

ROOT = Path(__file__).resolve().parents[2]


def init(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_init_writes_a_starter_that_validates_and_refuses_a_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = init(tmp_path)
    assert code == 0, out
    starter = tmp_path / "models.yaml"
    text = starter.read_text()
    assert [s.name.display for s in load_manifest(starter, env={}).models] == ["llama3.2:latest"]
    assert text.splitlines()[2] == f"# yaml-language-server: $schema={SCHEMA_URL}"
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    assert list(linter.run(text, YamlLintConfig("extends: default"))) == []
    assert "ollama-provision plan models.yaml" in text

    starter.write_text(text + "# my edits\n")
    code, out = init(tmp_path)
    assert code == 2
    assert "models.yaml exists; use --force to replace it" in out
    assert starter.read_text().endswith("# my edits\n")  # untouched

    code, _ = init(tmp_path, "--force")
    assert code == 0 and starter.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.yaml"]  # no temp files left


def test_init_takes_a_path(tmp_path: Path) -> None:
    target = tmp_path / "ollama-dev.yaml"
    code, out = init(tmp_path, str(target))
    assert code == 0, out
    assert f"ollama-provision validate {target}" in target.read_text()
    load_manifest(target, env={})


def test_every_commented_example_in_the_starter_is_valid_too(tmp_path: Path) -> None:
    init(tmp_path, str(tmp_path / "models.yaml"))
    lines = (tmp_path / "models.yaml").read_text().splitlines()
    body = lines.index("version: 1")
    yaml_like = re.compile(r"^(\s*)# (\s*)((- )?[a-z_]+:( |$)|- |FROM |SYSTEM |PARAMETER |Auth)")
    out = lines[:body]
    for line in lines[body:]:
        m = yaml_like.match(line)
        out.append(m.expand(r"\1\2") + line[m.end(2) :] if m else line)
    full = tmp_path / "full.yaml"
    full.write_text("\n".join(out) + "\n")
    manifest = load_manifest(full, env={"OLLAMA_TOKEN": "t"})
    assert len(manifest.models) == 6
    assert manifest.prune.keep == ("*-embed*",)


def test_the_schema_url_names_the_schema_in_this_repository() -> None:
    assert SCHEMA_URL.endswith("/schemas/manifest.schema.json")
    assert (ROOT / "schemas" / "manifest.schema.json").is_file()


def test_the_writer_refuses_invalid_text_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    with pytest.raises(InvalidOutput):
        write_manifest(target, "version: 2\nmodels: []\n", force=False)
    assert list(tmp_path.iterdir()) == []


def test_the_writer_never_replaces_without_force(tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    target.write_text("mine\n")
    with pytest.raises(WouldOverwrite):
        write_manifest(target, "version: 1\nmodels: []\n", force=False)
    assert target.read_text() == "mine\n"
    write_manifest(target, "version: 1\nmodels: []\n", force=True)
    assert target.read_text() == "version: 1\nmodels: []\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert [p.name for p in tmp_path.iterdir()] == ["m.yaml"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
