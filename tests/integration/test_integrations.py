"""The ways in: GitHub Action, pre-commit hook, shell completion, onboarding script."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github" / "actions" / "provision"
ONBOARDING = ROOT / "examples" / "onboarding.sh"
BIN = Path(sys.executable).parent  # where the installed `ollama-provision` script lives
TOOL = BIN / "ollama-provision"


def run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for key in ("OLLAMA_HOST", "GITHUB_STEP_SUMMARY", "_OLLAMA_PROVISION_COMPLETE"):
        base.pop(key, None)
    return subprocess.run(
        cmd, env={**base, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=600
    )


def registry_manifest(path: Path, registry: FilledRegistry, *names: str) -> Path:
    entries = "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
    path.write_text(f"version: 1\nmodels:\n{entries}")
    return path


def names_on(server: OllamaServer) -> set[str]:
    return {m["name"] for m in httpx.get(server.url + "/api/tags", timeout=30).json()["models"]}


def shellcheck(script: Path) -> None:
    # scripts/bootstrap installs it; a missing linter must fail, not skip.
    assert shutil.which("shellcheck"), "shellcheck is not installed: run scripts/bootstrap"
    result = run(["shellcheck", str(script)])
    assert result.returncode == 0, result.stdout


# ---- GitHub Action ---------------------------------------------------------------------


def test_the_action_is_a_composite_with_the_documented_inputs() -> None:
    action = yaml.safe_load((ACTION / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert set(inputs) == {"manifest", "host", "args", "python-version"}
    assert inputs["manifest"]["required"] is True
    assert all(inputs[k]["required"] is False for k in ("host", "args", "python-version"))
    assert all(inputs[k]["description"] for k in inputs)
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    install, apply = steps[1], steps[2]
    assert (
        'pip install --quiet --disable-pip-version-check "${{ github.action_path }}/../../.."'
        in (install["run"])
    )
    assert (ACTION / "../../../pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert apply["run"] == 'bash "${{ github.action_path }}/run.sh"'
    assert apply["env"] == {
        "OP_MANIFEST": "${{ inputs.manifest }}",
        "OP_HOST": "${{ inputs.host }}",
        "OP_ARGS": "${{ inputs.args }}",
    }
    assert all(s.get("shell") == "bash" for s in steps[1:])


def test_the_action_script_converges_a_manifest_and_propagates_failure(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    shellcheck(ACTION / "run.sh")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    registry_manifest(
        workspace / "models.yaml",
        registry,
        registry.name("library/tiny"),
        registry.name("team/tiny", "v1"),
    )
    summary = tmp_path / "summary.md"
    env = {  # what action.yml sets, plus what the runner sets
        "OP_MANIFEST": "models.yaml",
        "OP_HOST": ollama.url,
        "OP_ARGS": "--parallel 2  --stall-timeout 60",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTION_PATH": str(ACTION),
        "GITHUB_WORKSPACE": str(workspace),
    }
    first = run(["bash", str(ACTION / "run.sh")], env, cwd=workspace)
    assert first.returncode == 0, first.stdout + first.stderr
    assert {registry.name("library/tiny"), registry.name("team/tiny", "v1")} <= names_on(ollama)
    assert summary.read_text().strip(), "apply writes a Markdown summary for the job page"

    second = run(["bash", str(ACTION / "run.sh")], env, cwd=workspace)
    assert second.returncode == 0
    assert "in sync" in second.stdout

    registry_manifest(workspace / "bad.yaml", registry, registry.name("library/nosuch"))
    failed = run(["bash", str(ACTION / "run.sh")], {**env, "OP_MANIFEST": "bad.yaml"}, workspace)
    assert failed.returncode == 1
    missing = run(["bash", str(ACTION / "run.sh")], {**env, "OP_MANIFEST": "nope.yaml"}, workspace)
    assert missing.returncode == 2
    assert "manifest 'nope.yaml' not found" in missing.stderr


# ---- pre-commit --------------------------------------------------------------------------


def test_the_pre_commit_hook_validates_manifests() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "ollama-provision-validate"
    assert hook["language"] == "python"
    assert hook["entry"] == "ollama-provision validate"
    files = re.compile(hook["files"])
    for path in ("models.yaml", "deploy/models-prod.yml", "ollama.yaml", "x/ollama-gpu.yaml"):
        assert files.search(path), path
    for path in ("docker-compose.yaml", "models.json", "my-models.yaml", "models/x.txt"):
        assert not files.search(path), path


def test_the_hook_entry_passes_the_examples_and_fails_a_broken_manifest(tmp_path: Path) -> None:
    entry = shlex.split(yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]["entry"])
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 3
    good = run([*entry, *examples], {"DEMO_REGISTRY": "127.0.0.1:5000"})
    assert good.returncode == 0, good.stderr
    broken = tmp_path / "models.yaml"
    broken.write_text("version: 1\nmodels:\n  - nmae: llama3.2\n")
    bad = run([*entry, str(broken)])
    assert bad.returncode == 2
    assert f"{broken}:3:" in bad.stderr


# ---- shell completion ---------------------------------------------------------------------

COMMANDS = ("validate", "plan", "apply", "drift", "warm", "status", "export", "init")


def test_bash_completion_script_completes_the_commands() -> None:
    source = run([str(TOOL)], {"_OLLAMA_PROVISION_COMPLETE": "bash_source"})
    assert source.returncode == 0
    assert "complete -o nosort -F _ollama_provision_completion ollama-provision" in source.stdout
    # What the README says to put in ~/.bashrc, then a <TAB> after `ollama-provision `.
    script = (
        'eval "$(_OLLAMA_PROVISION_COMPLETE=bash_source ollama-provision)"\n'
        "COMP_WORDS=(ollama-provision '') COMP_CWORD=1\n"
        "_ollama_provision_completion ollama-provision\n"  # as bash calls it: with the command
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    completed = run(["bash", "-c", script])
    assert completed.returncode == 0, completed.stderr
    assert set(COMMANDS) <= set(completed.stdout.split())


# ---- onboarding ------------------------------------------------------------------------------


def test_onboarding_applies_the_team_manifest(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    shellcheck(ONBOARDING)
    team = registry_manifest(
        tmp_path / "team.yaml",
        registry,
        registry.name("library/tiny"),
        registry.name("library/tiny-embed"),
    )
    result = run([str(ONBOARDING), str(team)], {"OLLAMA_HOST": ollama.url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all set" in result.stdout
    assert {registry.name("library/tiny"), registry.name("library/tiny-embed")} <= names_on(ollama)

    again = run([str(ONBOARDING), str(team)], {"OLLAMA_HOST": ollama.url})
    assert again.returncode == 0
    assert "in sync" in again.stdout


def test_onboarding_explains_a_missing_model(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    team = registry_manifest(tmp_path / "team.yaml", registry, registry.name("library/nosuch"))
    result = run([str(ONBOARDING), str(team)], {"OLLAMA_HOST": ollama.url})
    assert result.returncode == 1
    assert "Some models could not be set up" in result.stderr
    assert f"missing            {registry.name('library/nosuch')}" in result.stderr
    assert "'file does not exist' or 'not found'" in result.stderr


def test_onboarding_against_a_dead_host_says_what_to_do(
    registry: FilledRegistry, tmp_path: Path
) -> None:
    team = registry_manifest(tmp_path / "team.yaml", registry, registry.name("library/tiny"))
    dead = f"http://127.0.0.1:{free_port()}"
    result = run([str(ONBOARDING), str(team)], {"OLLAMA_HOST": dead})
    assert result.returncode == 1
    err = result.stderr
    assert f"error: cannot connect to {dead}" in err
    assert "Ollama is not answering" in err
    for hint in ("https://ollama.com/download", "ollama serve", "export OLLAMA_HOST=", "0.0.0.0"):
        assert hint in err, hint


def test_onboarding_without_a_manifest_or_the_tool(tmp_path: Path) -> None:
    missing = run([str(ONBOARDING), str(tmp_path / "nope.yaml")])
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    no_tool = run([str(ONBOARDING)], {"OLLAMA_PROVISION": "no-such-ollama-provision"})
    assert no_tool.returncode == 2
    assert "pipx install ollama-provision" in no_tool.stderr
