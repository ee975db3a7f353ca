"""Local files against a real server (issue 12): what this tool reads and writes on the
machine it runs on never fails a converged apply, and nothing is read forever.

- A $GITHUB_STEP_SUMMARY that cannot be written (a folder, a missing folder) is one
  warning; the apply converges and exits 0.
- The hash cache is a convenience: an unwritable cache folder and a corrupt cache file
  are one note each; the custom model from a local GGUF is created all the same.
- FROM /dev/zero and a FIFO are refused when the manifest is read (exit 2, at the
  value's position), before any request; a FROM that becomes a FIFO after that fails
  its model at hash time instead of hanging. Ollama's own CLI (v0.11.4, v0.34.4) hashes
  /dev/zero or a FIFO forever ("gathering model components").
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import provisioner
from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.tiny_models import write_completion_model


def registry_manifest(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
    return path


def gguf_manifest(tmp_path: Path) -> Path:
    write_completion_model(tmp_path / "tiny.gguf")
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n  - name: local-bot\n    from: ./tiny.gguf\n")
    return path


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


# ---- the step summary -----------------------------------------------------------------------


def test_a_step_summary_that_cannot_be_written_is_a_warning(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.name("library/tiny")
    manifest = registry_manifest(tmp_path, name)
    folder = tmp_path / "summary-folder"
    folder.mkdir()
    applied = run_cli(
        "--host", ollama.url, "apply", str(manifest), env={"GITHUB_STEP_SUMMARY": str(folder)}
    )
    assert applied.code == 0, applied.err
    assert f"cannot write the step summary to {folder}: Is a directory" in applied.err
    warnings = [line for line in applied.err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: cannot write the step summary to {folder}: Is a directory"]
    assert "error" not in applied.err
    assert list(ollama.tags()) == [name]  # converged all the same

    missing = tmp_path / "no-such-folder" / "summary.md"
    again = run_cli(
        "--host", ollama.url, "apply", str(manifest), env={"GITHUB_STEP_SUMMARY": str(missing)}
    )
    assert again.code == 0, again.err
    assert again.err.splitlines() == [
        f"warning: cannot write the step summary to {missing}: No such file or directory"
    ]


# ---- the hash cache -------------------------------------------------------------------------


def test_an_unwritable_hash_cache_still_creates_the_model(
    ollama: OllamaServer, tmp_path: Path
) -> None:
    manifest = gguf_manifest(tmp_path)
    (tmp_path / "a-file").write_text("a file, so no folder can be made under it (root too)")
    cache = tmp_path / "a-file" / "cache"
    env = {"OLLAMA_PROVISION_CACHE": str(cache)}
    applied = run_cli("--host", ollama.url, "apply", str(manifest), env=env)
    assert applied.code == 0, applied.out + applied.err
    assert notes(applied.err) == [
        f"note: cannot write the hash cache {cache}/hashes.json (Not a directory); going on "
        "without it (local files will be hashed again next run)"
    ]
    assert "error" not in applied.err and "Permission denied" not in applied.err
    assert list(ollama.tags()) == ["local-bot:latest"]
    # Without a cache every run hashes again, and still sees the model in sync.
    planned = run_cli("--host", ollama.url, "plan", "--exit-code", str(manifest), env=env)
    assert planned.code == 0, planned.out + planned.err
    assert len(notes(planned.err)) == 1


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'{"version": 2, "files": "x"}', b"\x00" * 64])
def test_a_corrupt_hash_cache_is_rebuilt_with_a_note(
    ollama: OllamaServer, tmp_path: Path, body: bytes
) -> None:
    manifest = gguf_manifest(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "hashes.json").write_bytes(body)
    env = {"OLLAMA_PROVISION_CACHE": str(cache)}
    applied = run_cli("--host", ollama.url, "apply", str(manifest), env=env)
    assert applied.code == 0, applied.out + applied.err
    assert notes(applied.err) == [
        f"note: the hash cache {cache}/hashes.json was unreadable; rebuilding it"
    ]
    assert list(ollama.tags()) == ["local-bot:latest"]
    rebuilt = json.loads((cache / "hashes.json").read_text())
    assert [key.split("|")[0] for key in rebuilt["files"]] == [str(tmp_path / "tiny.gguf")]
    planned = run_cli("--host", ollama.url, "plan", "--exit-code", str(manifest), env=env)
    assert planned.code == 0 and notes(planned.err) == []  # the rebuilt cache reads fine


# ---- FROM a device or a FIFO ----------------------------------------------------------------


def test_from_dev_zero_or_a_fifo_is_refused_before_any_request(
    ollama: OllamaServer, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.gguf")
    (tmp_path / "Modelfile").write_text("# weights from a pipe\nFROM ./pipe.gguf\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\n"
        "models:\n"
        "  - name: zeros\n"
        "    modelfile: |\n"
        "      FROM /dev/zero\n"
        "  - name: piped\n"
        "    modelfile_path: Modelfile\n"
        "  - name: structured\n"
        "    from: ./pipe.gguf\n"
    )
    expected = [
        f"{manifest}:5:12: FROM '/dev/zero' is a character device, not a file or folder of "
        "weights: point FROM at a GGUF or safetensors file or folder",
        f"{tmp_path / 'Modelfile'}:2:6: FROM './pipe.gguf' is a FIFO (named pipe), not a "
        "file or folder of weights: point FROM at a GGUF or safetensors file or folder",
        f"{manifest}:9:11: 'from' path './pipe.gguf' is a FIFO (named pipe), not a file or "
        "folder of weights; point 'from' at a GGUF or safetensors file or folder",
    ]
    started = time.monotonic()
    validated = run_cli("validate", str(manifest))
    assert validated.code == 2
    assert validated.err.splitlines()[:3] == expected
    before = len(ollama.settled_requests())
    applied = run_cli("--host", ollama.url, "apply", str(manifest))
    assert applied.code == 2
    assert applied.err.splitlines() == [f"error: {line}" for line in expected]
    assert time.monotonic() - started < 60  # neither command read a pipe or /dev/zero
    assert ollama.settled_requests()[before:] == []  # refused before connecting
    assert list(ollama.tags()) == []


def test_a_from_that_becomes_a_fifo_fails_its_model_at_hash_time(
    ollama: OllamaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_PROVISION_CACHE", str(tmp_path / "cache"))
    write_completion_model(tmp_path / "tiny.gguf")
    write_completion_model(tmp_path / "swapped.gguf", seed=1)
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nmodels:\n"
        "  - name: swapped\n    from: ./swapped.gguf\n"
        "  - name: fine\n    from: ./tiny.gguf\n"
    )
    loaded = provisioner.load(manifest)  # validated while it was a file
    (tmp_path / "swapped.gguf").unlink()
    os.mkfifo(tmp_path / "swapped.gguf")
    started = time.monotonic()
    results = provisioner.apply(loaded, host=ollama.url)
    assert time.monotonic() - started < 120
    outcomes = {r.model.display: (r.outcome, r.error or "") for r in results}
    assert outcomes["fine:latest"] == ("done", "")
    assert outcomes["swapped:latest"][0] == "failed"
    assert (
        f"cannot read {tmp_path / 'swapped.gguf'}: a FIFO (named pipe), not a regular file"
        in outcomes["swapped:latest"][1]
    )
    assert sorted(ollama.tags()) == ["fine:latest"]
