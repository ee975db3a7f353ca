"""Fast samples of the reliability suite (benchmarks/reliability.py, `make reliability`).

One run each of what the suite repeats, against the real test bed:

- two concurrent applies of one manifest on one server, sharing one hash cache,
  each hashing its own half of the local GGUFs: both end 0 (or 1 with FAILED
  lines), the server converges, the cache keeps every file's entry;
- disk full: OLLAMA_MODELS on a 100 MB tmpfs (mounted here, unmounted after; a
  machine where it cannot be mounted fails the test), two tiny models and the
  200 MB one: the tiny ones converge, the big one fails once, not retried, with
  one line naming it and saying the server's disk is full;
- 200 fuzzed Modelfiles (seeded) through `validate`: no traceback, exit 0 or
  one problem line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz_modelfile import run as fuzz_modelfiles
from tests.integration.cli_runner import Run, run_cli
from tests.testbed.build import PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.served import not_converged
from tests.testbed.tiny_models import write_completion_model


def manifest_text(names: list[str], extra: str = "") -> str:
    models = "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
    return "version: 1\nmodels:\n" + models + extra


def one_line_failures(run: Run) -> list[str]:
    """Why an apply that ended 1 did not fail as FAILED lines or one error line."""
    if run.code == 0:
        return []
    if run.code != 1 or "Traceback" in run.out + run.err:
        return [f"exit {run.code}: {(run.out + run.err)[-300:]}"]
    if any("FAILED" in x for x in run.out.splitlines()) or len(run.err.strip().splitlines()) == 1:
        return []
    return [f"exit 1 without a one-line error: {(run.out + run.err)[-300:]}"]


def test_two_concurrent_applies_converge_and_keep_every_hash_cache_entry(
    registry: FilledRegistry, ollama: OllamaServer, tmp_path: Path
) -> None:
    tiny = [registry.name("library/tiny"), registry.name("team/tiny", "v1")]
    weights = [tmp_path / f"w{i}.gguf" for i in range(4)]
    for i, file in enumerate(weights):
        write_completion_model(file, seed=20 + i)
    local = [f"conc-local-{i}" for i in range(len(weights))]
    extra = f"  - name: conc-custom\n    modelfile: |\n      FROM {tiny[0]}\n      SYSTEM hi\n"
    extra += "".join(
        f"  - name: {n}\n    modelfile: FROM ./{w.name}\n"
        for n, w in zip(local, weights, strict=True)
    )
    manifest = tmp_path / "models.yaml"
    manifest.write_text(manifest_text(tiny, extra))
    cache = tmp_path / "cache"
    env = {**os.environ, "OLLAMA_PROVISION_CACHE": str(cache)}
    # Both race on the registry models and conc-custom; each hashes its own half of the
    # local files into the one cache, so a run that overwrote the other's saves shows.
    shared = [*tiny, "conc-custom"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "provisioner", "--host", ollama.url, "apply", str(manifest)]
            + [a for name in [*shared, *local[half::2]] for a in ("--target", name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for half in (0, 1)
    ]
    runs = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=240)
        finally:
            proc.kill()
        runs.append(Run(proc.returncode, out, err))

    assert [p for r in runs for p in one_line_failures(r)] == []
    files = json.loads((cache / "hashes.json").read_text())["files"]
    lost = [w.name for w in weights if not any(k.startswith(f"{w.resolve()}|") for k in files)]
    assert lost == []
    customs = ["conc-custom", *local]
    if any(r.code for r in runs):  # a run may fail on the race; a rerun must converge
        assert run_cli("--host", ollama.url, "apply", str(manifest), env=env).code == 0
    assert not_converged(ollama, registry.host, tiny) == []
    assert [n for n in customs if f"{n}:latest" not in ollama.tags()] == []
    drift = run_cli("--host", ollama.url, "drift", str(manifest), env=env)
    assert drift.code == 0, drift.out + drift.err


def test_a_full_disk_fails_the_big_model_once_and_the_tiny_ones_converge(
    registry: FilledRegistry, large_model: str, tmp_path: Path
) -> None:
    tiny = [registry.name("library/tiny"), registry.name("library/tiny-embed")]
    manifest = tmp_path / "models.yaml"
    manifest.write_text(manifest_text([large_model, *tiny]))  # the big one first on purpose
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a 100 MB tmpfs (this test needs root): {mounted.stderr}")
    server: OllamaServer | None = None
    try:
        server = start_server(PINNED, tmp_path / "ollama", env={"OLLAMA_MODELS": str(mnt)})
        result = run_cli("--host", server.url, "apply", str(manifest))
        pulls = [p for _, m, p in server.settled_requests() if m == "POST" and p == "/api/pull"]
        failed = [x for x in result.out.splitlines() if "FAILED" in x]

        assert result.code == 1, result.out + result.err
        assert "Traceback" not in result.out + result.err
        assert len(failed) == 1 and large_model in failed[0], result.out
        assert "disk is full" in failed[0]
        assert "retry" not in result.out + result.err
        assert len(pulls) == 3  # one per model: out of space is not retried
        assert not_converged(server, registry.host, tiny) == []
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["umount", str(mnt)], check=False, timeout=60)


def test_fuzzed_modelfiles_never_give_a_traceback() -> None:
    fuzz = fuzz_modelfiles(200, seed=2026, guard=False)

    assert fuzz.tracebacks == 0
    assert fuzz.failures == []
    assert fuzz.ended["exit 0"] > 0 and fuzz.ended["exit 2"] > 0  # both outcomes were reached
    assert sum(fuzz.ended.values()) >= 200
