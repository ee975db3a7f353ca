"""The reconciler converging real servers: each drift kind made for real, then fixed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server

MUTATING = {"/api/pull", "/api/create", "/api/copy", "/api/delete"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def cli(server: OllamaServer, *args: str) -> Run:
    return run_cli("--host", server.url, *args)


def mutations(server: OllamaServer) -> list[str]:
    return [p for _, m, p in server.settled_requests() if m != "GET" and p in MUTATING]


def drift_kinds(server: OllamaServer, manifest: Path, *extra: str) -> tuple[int, list[str]]:
    result = cli(server, "--output", "json", "drift", str(manifest), *extra)
    body = json.loads(result.out)
    return result.code, sorted(f"{d['kind']} {d['model']}" for d in body["drift"])


def test_tag_moved_upstream_is_outdated_and_apply_pulls_it(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.push("library/moving", "stable", seed=10)
    manifest = write(tmp_path, f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    before = any_ollama.tags()[name]

    registry.push("library/moving", "stable", seed=11)  # a new digest under the same tag
    assert drift_kinds(any_ollama, manifest) == (0, [])  # if-missing: updates only when asked
    code, found = drift_kinds(any_ollama, manifest, "--check-updates")
    assert (code, found) == (3, [f"outdated {name}"])
    fixed = cli(any_ollama, "apply", "--check-updates", str(manifest))
    assert fixed.code == 0, fixed.out + fixed.err
    assert any_ollama.tags()[name] != before
    assert drift_kinds(any_ollama, manifest, "--check-updates") == (0, [])


def test_pull_always_follows_the_tag(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.push("library/always", "stable", seed=12)
    manifest = write(
        tmp_path, f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n    pull: always\n"
    )
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    registry.push("library/always", "stable", seed=13)
    assert drift_kinds(any_ollama, manifest) == (3, [f"outdated {name}"])
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    assert drift_kinds(any_ollama, manifest) == (0, [])


def test_pin_mismatch_is_fixed_by_pulling_the_pinned_digest(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, other = registry.name("library/tiny"), registry.name("library/tiny", "v2")
    pin = httpx.get(
        f"http://{registry.host}/v2/library/tiny/manifests/latest",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    ).headers["Docker-Content-Digest"]
    # The server holds something else under the pinned name.
    any_ollama.cli("pull", "--insecure", other)
    any_ollama.cli("cp", other, tiny)
    manifest = write(
        tmp_path,
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n    digest: {pin}\n",
    )
    assert drift_kinds(any_ollama, manifest) == (3, [f"digest-mismatch {tiny}", f"extra {other}"])
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    assert drift_kinds(any_ollama, manifest) == (0, [f"extra {other}"])


def test_pin_the_registry_does_not_serve_fails_before_pulling(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    manifest = write(
        tmp_path,
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n"
        f"    digest: sha256:{'0' * 64}\n",
    )
    result = cli(any_ollama, "apply", str(manifest))
    assert result.code == 1
    assert "update the pin" in result.out
    assert mutations(any_ollama) == []


def test_alias_repointed_by_hand_is_copied_back(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, v2 = registry.name("library/tiny"), registry.name("library/tiny", "v2")
    manifest = write(
        tmp_path,
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n    aliases: [fast]\n"
        f"  - name: {v2}\n    insecure: true\n",
    )
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    assert any_ollama.tags()["fast:latest"] == any_ollama.tags()[tiny]
    any_ollama.cli("cp", v2, "fast")
    assert drift_kinds(any_ollama, manifest) == (3, ["alias-stale fast:latest"])
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    assert any_ollama.tags()["fast:latest"] == any_ollama.tags()[tiny]


def test_undeclared_model_is_pruned_only_with_yes(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    manifest = write(
        tmp_path,
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n"
        "prune:\n  enabled: true\n  keep: ['keep-*']\n",
    )
    assert cli(any_ollama, "apply", str(manifest)).code == 0
    any_ollama.cli("pull", "--insecure", embed)
    any_ollama.cli("cp", tiny, "keep-me")
    assert drift_kinds(any_ollama, manifest) == (3, ["extra keep-me:latest", f"unwanted {embed}"])
    refused = cli(any_ollama, "apply", str(manifest))  # stdin is not a terminal here
    assert refused.code == 2
    assert "rerun with --yes" in refused.err
    assert embed in any_ollama.tags()
    assert cli(any_ollama, "apply", "--yes", str(manifest)).code == 0
    assert sorted(any_ollama.tags()) == sorted([tiny, "keep-me:latest"])


def test_dry_run_sends_no_mutating_request(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    manifest = write(tmp_path, f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n")
    result = cli(any_ollama, "apply", "--dry-run", str(manifest))
    assert result.code == 0 and "+ pull" in result.out
    assert mutations(any_ollama) == [] and any_ollama.tags() == {}


def test_warm_models_are_loaded_with_their_expiry(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    manifest = write(
        tmp_path,
        f"version: 1\nmodels:\n"
        f"  - name: {tiny}\n    insecure: true\n    warm: true\n    keep_alive: 30m\n"
        f"  - name: {embed}\n    insecure: true\n    warm: true\n    keep_alive: 10m\n",
    )
    result = cli(ollama, "apply", str(manifest))
    assert result.code == 0, result.out + result.err
    assert result.out.count("ok     warm") == 2
    running = {
        m["name"]: m["expires_at"] for m in httpx.get(ollama.url + "/api/ps").json()["models"]
    }
    assert sorted(running) == sorted([tiny, embed])
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    minutes = {
        n: (datetime.fromisoformat(t) - now).total_seconds() / 60 for n, t in running.items()
    }
    assert 28 < minutes[tiny] <= 30 and 8 < minutes[embed] <= 10
    again = cli(ollama, "apply", str(manifest))
    assert "in sync" in again.out  # loaded models are not warmed again


def test_killed_mid_pull_then_rerun_completes_and_touches_nothing_else(
    ollama: OllamaServer, registry: FilledRegistry, large_model: str, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    ollama.cli("pull", "--insecure", tiny)
    ollama.cli("cp", tiny, "bystander")
    before = ollama.tags()
    manifest = write(
        tmp_path, f"version: 1\nmodels:\n  - name: {large_model}\n    insecure: true\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "--host", ollama.url, "apply", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    partial = list((ollama.models_dir / "blobs").glob("*-partial*"))
    deadline = time.monotonic() + 30
    while not partial and time.monotonic() < deadline:
        time.sleep(0.1)
        partial = list((ollama.models_dir / "blobs").glob("*-partial*"))
    assert partial, "the pull never started"
    time.sleep(1.0)
    ollama.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert f"FAILED pull {large_model}" in out
    assert "Traceback" not in err

    restarted = start_server(ollama.version, ollama.workdir, port=ollama.port)
    try:
        rerun = cli(restarted, "apply", str(manifest))
        assert rerun.code == 0, rerun.out + rerun.err
        after = restarted.tags()
        assert large_model in after
        assert {k: v for k, v in after.items() if k != large_model} == before
    finally:
        restarted.stop()
