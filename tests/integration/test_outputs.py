"""Every JSON output validates against its published schema; status shows what is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "output.schema.json").read_text()
)


def valid(text: str, kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert doc["kind"] == kind
    return doc


def test_all_json_outputs_follow_the_schema(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        f"version: 1\nmodels:\n"
        f"  - name: {tiny}\n    insecure: true\n    warm: true\n    aliases: [fast]\n"
        f"  - name: {registry.name('library/nosuch')}\n    insecure: true\n"
    )
    ollama.cli("pull", "--insecure", embed)

    def run(*args: str) -> str:
        return run_cli("--host", ollama.url, "--output", "json", *args, str(manifest)).out

    plan = valid(run("plan"), "plan")
    assert [a["action"] for a in plan["actions"]] == ["pull", "pull", "copy", "warm"]
    valid(run("apply", "--dry-run"), "apply")
    drift = valid(run("drift"), "drift")
    assert {d["kind"] for d in drift["drift"]} == {"missing", "extra"}
    applied = valid(run("apply"), "apply")
    outcomes = {(r["action"], r["outcome"]) for r in applied["results"]}
    assert ("pull", "failed") in outcomes and ("warm", "done") in outcomes
    valid(run("warm"), "warm")
    status = valid(run("status"), "status")
    by_name = {m["model"]: m for m in status["models"]}
    assert by_name[tiny]["loaded"] is True and by_name[tiny]["in_sync"] is True
    assert by_name[embed]["declared"] is False
    assert status["missing"] == [registry.name("library/nosuch")]
    bare = valid(run_cli("--host", ollama.url, "--output", "json", "status").out, "status")
    assert all(m["declared"] is None for m in bare["models"])


def test_status_text_shows_loaded_models_and_sync(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n    warm: true\n"
    )
    assert run_cli("--host", ollama.url, "apply", str(manifest)).code == 0
    ollama.cli("cp", tiny, "undeclared")
    out = run_cli("--host", ollama.url, "status", str(manifest)).out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "cpu, until" in lines[tiny] and lines[tiny].endswith("in sync")
    assert lines["undeclared:latest"].endswith("extra")
