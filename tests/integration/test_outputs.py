"""Every JSON output validates against its published schema; status shows what is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

import provisioner
from provisioner.views import json_docs
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
    assert [(a["action"], a["effect"]) for a in plan["actions"]] == [
        ("pull", "add"),
        ("copy", "add"),
        ("warm", "warm"),
    ]  # the registry has no library/nosuch: a failure of the plan, not a pull
    assert [f["model"] for f in plan["failures"]] == [registry.name("library/nosuch")]
    assert plan["actions"][2]["drift"] is None and plan["lock"] is None
    dry = valid(run("apply", "--dry-run"), "apply")
    assert dry["outcome"] == "dry-run" and dry["changed"] is False
    drift = valid(run("drift"), "drift")
    assert {d["kind"] for d in drift["drift"]} == {"missing", "extra"}
    applied = valid(run("apply"), "apply")
    outcomes = {(r["action"], r["outcome"]) for r in applied["results"]}
    assert ("check", "failed") in outcomes and ("warm", "done") in outcomes
    assert applied["changed"] is True and applied["outcome"] == "failed"
    valid(run("warm"), "warm")
    status = valid(run("status"), "status")
    by_name = {m["model"]: m for m in status["models"]}
    assert by_name[tiny]["loaded"] is True and by_name[tiny]["in_sync"] is True
    assert by_name[embed]["declared"] is False
    assert status["missing"] == [registry.name("library/nosuch")]
    bare = valid(run_cli("--host", ollama.url, "--output", "json", "status").out, "status")
    assert all(m["declared"] is None for m in bare["models"])


def test_every_command_prints_one_schema_document_on_success_and_failure(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    good = tmp_path / "models.yaml"
    good.write_text(f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nmodels:\n  - name: a\n    warn: true\n")
    dead = "http://127.0.0.1:9"

    def doc(*args: str, code: int, kind: str) -> dict[str, Any]:
        result = run_cli("-o", "json", *args, cwd=tmp_path)
        assert result.code == code, result.out + result.err
        assert len(result.out.splitlines()) == 1, result.out  # exactly one document
        return valid(result.out, kind)

    assert doc("validate", str(good), code=0, kind="validate")["valid"] is True
    invalid = doc("validate", str(bad), code=2, kind="validate")
    assert invalid["files"][0]["errors"][0]["line"] == 4
    locked = doc("lock", str(good), code=0, kind="lock")
    assert list(locked["registry"]) == [tiny]
    assert doc("plan", "--host", ollama.url, str(good), code=0, kind="plan")["lock"]["pins"] == 1
    assert doc("apply", "--host", ollama.url, str(good), code=0, kind="apply")["changed"] is True
    assert doc("drift", "--host", ollama.url, str(good), code=0, kind="drift")["drift"] == []
    exported = doc("export", "--host", ollama.url, code=0, kind="export")
    assert exported["models"]["registry"] == [tiny] and "version: 1" in exported["manifest"]
    assert doc("init", str(tmp_path / "new.yaml"), code=0, kind="init")["file"].endswith("new.yaml")
    # Failures: still one document, kind error, with the exit code and the line.
    for args, code in (
        (("plan", str(bad)), 2),
        (("apply", "--host", dead, str(good)), 1),
        (("drift", "--host", dead, str(good)), 1),
        (("status", "--host", dead), 1),
        (("warm", "--host", dead, str(good)), 1),
        (("export", "--host", dead), 1),
        (("lock", str(tmp_path / "missing.yaml")), 2),
        (("init", str(good)), 2),
    ):
        error = doc(*args, code=code, kind="error")
        assert error["exit_code"] == code and error["error"], args
    assert doc("plan", str(bad), code=2, kind="error")["problems"][0]["line"] == 4


def test_cli_and_python_api_agree_and_both_read_the_lock(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    moving = registry.push("library/parity", "stable", seed=40)
    embed = registry.name("library/tiny-embed")
    path = tmp_path / "models.yaml"
    path.write_text(
        f"version: 1\nmodels:\n  - name: {moving}\n    insecure: true\n"
        f"  - name: {embed}\n    insecure: true\n"
    )
    assert run_cli("lock", str(path)).code == 0
    registry.push("library/parity", "stable", seed=41)  # the tag moves after the lock
    ollama.cli("pull", "--insecure", moving)  # the server holds the new digest
    ollama.cli("cp", moving, "undeclared")

    def cli_doc(command: str) -> dict[str, Any]:
        result = run_cli("--host", ollama.url, "-o", "json", command, str(path))
        return valid(result.out, command)

    cli_plan, cli_drift = cli_doc("plan"), cli_doc("drift")
    manifest = provisioner.load(path)
    api_plan = provisioner.plan(manifest, host=ollama.url)
    api_drift = provisioner.drift(manifest, host=ollama.url)

    assert cli_plan["lock"]["path"] == str(tmp_path / "models.lock.json")
    assert cli_drift["lock"]["path"] == cli_plan["lock"]["path"]
    assert [a["model"] for a in cli_plan["actions"]] == [a.model.display for a in api_plan.actions]
    assert cli_plan["actions"] == [json_docs.action_json(a) for a in api_plan.actions]
    assert cli_plan["failures"] == [
        {"model": f.model.display, "message": f.message} for f in api_plan.failures
    ]
    assert cli_drift["drift"] == [json_docs.drift_json(d) for d in api_drift]
    kinds = [(d["kind"], d["model"], d["detail"]) for d in cli_drift["drift"]]
    assert kinds == [
        ("missing", embed, "locked in models.lock.json"),
        ("digest-mismatch", moving, "locked in models.lock.json"),
        ("extra", "undeclared:latest", None),
    ]
    assert "run `ollama-provision lock` to accept" in api_plan.failures[0].message


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
    assert " cpu, expires in " in lines[tiny] and lines[tiny].endswith("in sync")
    assert lines["undeclared:latest"].endswith("extra")


def test_plan_drift_and_apply_in_markdown(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n")

    def run(*args: str) -> tuple[int, str]:
        done = run_cli("--host", ollama.url, "-o", "markdown", *args, str(manifest))
        return done.code, done.out

    code, plan = run("plan", "--exit-code")
    assert code == 3
    assert plan.startswith("### ollama-provision plan\n")
    assert f"on `{ollama.url}` (Ollama {ollama.version})" in plan
    assert f"| add (pull) | `{tiny}` | missing" in plan
    code, drift = run("drift")
    assert code == 3 and f"| missing | `{tiny}` | present | absent |" in drift
    code, applied = run("apply")
    assert code == 0 and f"| pull | `{tiny}` | done | missing |" in applied
    assert list(ollama.tags()) == [tiny]
    code, drift = run("drift")
    assert code == 0 and "**No drift: 1 model(s) in sync**" in drift
