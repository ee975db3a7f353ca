"""A repeated no-op apply replays the remembered verdict, and only while it holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _apply(manifest: Path, env: dict[str, str]) -> tuple[Run, bool]:
    """Run `apply FILE` and say whether the CLI (click) was imported, i.e. whether the
    whole pipeline ran rather than the remembered verdict."""
    run = run_cli("apply", str(manifest), env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    imports = [line for line in run.err.splitlines() if line.startswith("import time:")]
    err = "".join(line + "\n" for line in run.err.splitlines() if line not in imports)
    full = any(re.search(r"\|\s+click$", line.rstrip()) for line in imports)
    return Run(run.code, run.out, err), full


def test_a_repeated_no_op_apply_replays_and_falls_back_when_anything_moved(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    manifest = tmp_path / "models.yaml"
    manifest.write_bytes((EXAMPLES / "demo.yaml").read_bytes())
    env = {
        "OLLAMA_HOST": ollama.url,
        "DEMO_REGISTRY": registry.host,
        "OLLAMA_PROVISION_CACHE": str(tmp_path / "cache"),
    }
    converged, full = _apply(manifest, env)
    assert converged.code == 0, converged.err
    assert "apply: 3 done" in converged.out and full
    assert not (tmp_path / "cache" / "in-sync").exists()  # a run that changed: nothing kept

    remembered, full = _apply(manifest, env)
    assert remembered.code == 0 and full
    assert "in sync: 3 model(s)" in remembered.out
    assert len(list((tmp_path / "cache" / "in-sync").glob("*.json"))) == 1

    before = len(ollama.settled_requests())
    replayed, full = _apply(manifest, env)
    assert not full  # answered without loading the CLI
    assert replayed == remembered  # the same exit code and the same bytes on both streams
    assert ollama.settled_requests()[before:] == [
        (200, "GET", "/api/version"),
        (200, "GET", "/api/tags"),
    ]

    # A reader that went away (`apply | head -1`) ends the replay quietly, exit 0.
    reading, writing = os.pipe()
    os.close(reading)  # closed before the tool writes: every write is a broken pipe
    try:
        closed = subprocess.run(
            [sys.executable, "-m", "provisioner", "apply", str(manifest)],
            env={**os.environ, **env, "PYTHONPROFILEIMPORTTIME": "1"},
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writing)
    imported = [x for x in closed.stderr.splitlines() if x.startswith("import time:")]
    assert not any(re.search(r"\|\s+click$", x.rstrip()) for x in imported)  # a replay
    assert closed.returncode == 0
    assert [x for x in closed.stderr.splitlines() if x not in imported] == []

    # The server moved: the same command sees it and pulls again.
    httpx.request(
        "DELETE", f"{ollama.url}/api/delete", json={"model": f"{registry.host}/team/tiny:v1"}
    ).raise_for_status()
    moved, full = _apply(manifest, env)
    assert full and moved.code == 0, moved.err
    assert "+ pull" in moved.out and f"{registry.host}/team/tiny:v1" in moved.out
    assert "apply: 1 done" in moved.out

    # The manifest moved (a comment is enough): a new key, the whole pipeline again.
    manifest.write_text(manifest.read_text() + "# edited\n")
    edited, full = _apply(manifest, env)
    assert full and edited.code == 0 and "in sync: 3 model(s)" in edited.out

    # A variable the manifest uses moved: the whole pipeline, which now sees other names.
    env_other = {**env, "DEMO_REGISTRY": "127.0.0.1:1"}
    other, full = _apply(manifest, env_other)
    assert full and "127.0.0.1:1/library/tiny" in other.out + other.err

    # The escape hatch: OLLAMA_PROVISION_REPLAY=0 always runs the pipeline.
    again, full = _apply(manifest, {**env, "OLLAMA_PROVISION_REPLAY": "0"})
    assert full and again.code == 0


def test_a_warm_up_or_a_stopped_server_is_never_replayed(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        f"version: 1\nmodels:\n  - name: {registry.name('library/tiny')}\n"
        "    insecure: true\n    warm: true\n"
    )
    env = {"OLLAMA_HOST": ollama.url, "OLLAMA_PROVISION_CACHE": str(tmp_path / "cache")}
    for _ in range(3):
        run, full = _apply(manifest, env)
        assert run.code == 0, run.err
        assert full  # a warm-up asks /api/ps: never remembered
    assert not (tmp_path / "cache" / "in-sync").exists()

    manifest.write_text(
        f"version: 1\nmodels:\n  - name: {registry.name('library/tiny')}\n    insecure: true\n"
    )
    for _ in range(2):
        run, _ = _apply(manifest, env)
        assert run.code == 0, run.err
    ollama.stop()
    down, full = _apply(manifest, env)
    assert full and down.code == 1  # the remembered verdict needs the server's answers
    assert "in sync" not in down.out
