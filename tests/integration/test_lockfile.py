"""`lock`, `apply --locked` and lock drift, against a real registry and server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import provisioner
from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.served import served_digest


def registry_digest(registry: FilledRegistry, repo: str, tag: str) -> str:
    return "sha256:" + served_digest(registry.host, registry.name(repo, tag))


def manifest(tmp_path: Path, name: str, extra: str = "") -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n{extra}")
    return path


def test_lock_records_what_the_tag_resolves_to(registry: FilledRegistry, tmp_path: Path) -> None:
    name = registry.name("library/tiny", "v2")
    path = manifest(tmp_path, name)
    result = run_cli("lock", str(path))
    assert result.code == 0, result.err
    lock = json.loads((tmp_path / "models.lock.json").read_text())
    assert lock["registry"] == {name: registry_digest(registry, "library/tiny", "v2")}


def test_locked_apply_refuses_a_moved_tag_before_any_change(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.push("library/locked", "stable", seed=20)
    path = manifest(tmp_path, name)
    assert run_cli("lock", str(path)).code == 0
    registry.push("library/locked", "stable", seed=21)  # the tag moves upstream
    result = run_cli("--host", any_ollama.url, "apply", "--locked", str(path))
    assert result.code == 1
    assert "refusing to apply" in result.err and name in result.err
    time.sleep(0.2)
    assert [p for _, m, p in any_ollama.requests() if m != "GET"] == []

    # Every command reads the lock: plan, apply and drift agree that the locked digest
    # is not served any more, and say so; `lock` again accepts the new digest.
    plan = run_cli("--host", any_ollama.url, "plan", str(path))
    assert plan.code == 1 and "run `ollama-provision lock` to accept" in plan.out
    applied = run_cli("--host", any_ollama.url, "apply", str(path))
    assert applied.code == 1 and "locked to sha256:" in applied.out
    drift = run_cli("--host", any_ollama.url, "--output", "json", "drift", str(path))
    assert drift.code == 1  # a pin the registry no longer serves: drift cannot be the answer
    found = json.loads(drift.out)["drift"]
    assert [(d["kind"], d["detail"]) for d in found] == [("missing", "locked in models.lock.json")]
    assert run_cli("lock", str(path)).code == 0
    assert run_cli("--host", any_ollama.url, "apply", str(path)).code == 0
    assert run_cli("--host", any_ollama.url, "drift", str(path)).code == 0


def test_a_manifest_that_differs_from_its_lock_is_drift(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, v2 = registry.name("library/tiny"), registry.name("library/tiny", "v2")
    path = manifest(tmp_path, tiny)
    assert run_cli("lock", str(path)).code == 0
    path.write_text(path.read_text() + f"  - name: {v2}\n    insecure: true\n")
    assert run_cli("--host", ollama.url, "apply", str(path)).code == 0  # not --locked

    # The server has every model the manifest declares; only the lock disagrees.
    drift = run_cli("--host", ollama.url, "drift", str(path))
    assert drift.code == 3, drift.out + drift.err
    assert drift.out.splitlines()[1:] == [
        "using models.lock.json (1 pinned digest)",
        f"lock               {v2}: not in models.lock.json; run `ollama-provision lock`",
        "drift: 1 model(s) differ, 2 in sync",
    ]
    as_json = run_cli("--host", ollama.url, "-o", "json", "drift", str(path))
    assert as_json.code == 3
    assert json.loads(as_json.out)["drift"] == [
        {
            "kind": "lock",
            "model": v2,
            "expected": None,
            "actual": None,
            "detail": "not in models.lock.json; run `ollama-provision lock`",
        }
    ]
    found = provisioner.drift(provisioner.load(path), host=ollama.url)
    assert [(d.kind, d.model.display) for d in found] == [("lock", v2)]

    assert run_cli("lock", str(path)).code == 0
    again = run_cli("--host", ollama.url, "drift", str(path))
    assert (again.code, again.out.splitlines()[-1]) == (0, "no drift: 2 model(s) in sync")


def test_locked_apply_installs_the_locked_digest(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.name("library/tiny")
    path = manifest(tmp_path, name)
    assert run_cli("lock", str(path)).code == 0
    result = run_cli("--host", any_ollama.url, "apply", "--locked", str(path))
    assert result.code == 0, result.out + result.err
    again = run_cli("--host", any_ollama.url, "drift", str(path))
    assert again.code == 0, again.out + again.err


def test_locked_apply_without_a_lock_is_a_usage_error(tmp_path: Path) -> None:
    path = manifest(tmp_path, "tiny")
    result = run_cli("--host", "http://127.0.0.1:9", "apply", "--locked", str(path))
    assert result.code == 2
    assert (
        result.err.strip()
        == f"error: --locked needs a lock file; run `ollama-provision lock {path}`"
    )


def test_custom_definition_changed_since_lock(registry: FilledRegistry, tmp_path: Path) -> None:
    base = registry.name("library/tiny")
    custom = "  - name: bot\n    from: {base}\n    system: {system}\n"
    path = manifest(tmp_path, base, custom.format(base=base, system="Be brief."))
    assert run_cli("lock", str(path)).code == 0
    path.write_text(path.read_text().replace("Be brief.", "Be verbose."))
    result = run_cli("--host", "http://127.0.0.1:9", "apply", "--locked", str(path))
    assert result.code == 1  # refused before connecting: nothing listens on port 9
    assert result.err.splitlines() == [
        "refusing to apply: bot:latest: its definition changed since models.lock.json was written",
        "apply --locked: nothing changed",
    ]


def test_step_summary_is_appended_in_github_actions(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    path = manifest(tmp_path, registry.name("library/tiny"))
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert run_cli("--host", ollama.url, "apply", str(path), env=env).code == 0
    assert run_cli("--host", ollama.url, "apply", str(path), env=env).code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n### ollama-provision apply")
    assert f"| pull | `{registry.name('library/tiny')}` | done | missing |" in text
    assert "**In sync: 1 model(s), nothing to do**" in text
