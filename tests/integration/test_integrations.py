"""The ways in: GitHub Action, pre-commit hook, shell completion, onboarding script."""

from __future__ import annotations

import os
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


def test_the_action_is_a_composite_with_the_documented_inputs_and_outputs() -> None:
    action = yaml.safe_load((ACTION / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert set(inputs) == {"manifest", "command", "host", "args", "python-version"}
    assert inputs["manifest"]["required"] is True
    assert all(inputs[k]["required"] is False for k in set(inputs) - {"manifest"})
    assert inputs["command"]["default"] == "apply"
    assert all(inputs[k]["description"] for k in inputs)
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    install, run_step = steps[1], steps[2]
    assert (
        'pip install --quiet --disable-pip-version-check "${{ github.action_path }}/../../.."'
        in (install["run"])
    )
    assert (ACTION / "../../../pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert run_step["run"] == 'bash "${{ github.action_path }}/run.sh"'
    assert run_step["env"] == {
        "OP_MANIFEST": "${{ inputs.manifest }}",
        "OP_COMMAND": "${{ inputs.command }}",
        "OP_HOST": "${{ inputs.host }}",
        "OP_ARGS": "${{ inputs.args }}",
    }
    assert all(s.get("shell") == "bash" for s in steps[1:])
    # The outputs are what run.sh writes to $GITHUB_OUTPUT in the step with id `run`.
    assert run_step["id"] == "run"
    outputs = action["outputs"]
    assert set(outputs) == {"changed", "drift"}
    for name, output in outputs.items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert output["description"]


def step_outputs(path: Path) -> dict[str, str]:
    """What a step wrote to $GITHUB_OUTPUT (then emptied for the next step)."""
    lines = path.read_text().splitlines() if path.exists() else []
    path.write_text("")
    return dict(line.split("=", 1) for line in lines)


def test_the_action_script_converges_a_manifest_and_propagates_failure(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    shellcheck(ACTION / "run.sh")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    tiny, team_tiny = registry.name("library/tiny"), registry.name("team/tiny", "v1")
    registry_manifest(workspace / "models.yaml", registry, tiny, team_tiny)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    env = {  # what action.yml sets, plus what the runner sets
        "OP_MANIFEST": "models.yaml",
        "OP_HOST": ollama.url,
        "OP_ARGS": "--parallel 2  --stall-timeout 60",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_ACTION_PATH": str(ACTION),
        "GITHUB_WORKSPACE": str(workspace),
    }
    first = run(["bash", str(ACTION / "run.sh")], env, cwd=workspace)
    assert first.returncode == 0, first.stdout + first.stderr
    assert {tiny, team_tiny} <= names_on(ollama)
    assert f"ok      pull {tiny}" in first.stdout
    assert step_outputs(outputs) == {"changed": "true", "drift": "true"}
    assert summary.read_text().strip(), "apply writes a Markdown summary for the job page"

    second = run(["bash", str(ACTION / "run.sh")], env, cwd=workspace)
    assert second.returncode == 0
    assert "in sync: 2 model(s)" in second.stdout
    assert step_outputs(outputs) == {"changed": "false", "drift": "false"}

    registry_manifest(workspace / "bad.yaml", registry, registry.name("library/nosuch"))
    failed = run(["bash", str(ACTION / "run.sh")], {**env, "OP_MANIFEST": "bad.yaml"}, workspace)
    assert failed.returncode == 1
    nosuch = registry.name("library/nosuch")
    assert f"::error file=bad.yaml,title=ollama-provision apply::check {nosuch} failed: " in (
        failed.stdout
    )
    assert step_outputs(outputs) == {"changed": "false", "drift": "true"}
    missing = run(["bash", str(ACTION / "run.sh")], {**env, "OP_MANIFEST": "nope.yaml"}, workspace)
    assert missing.returncode == 2
    assert "manifest 'nope.yaml' not found" in missing.stdout
    assert step_outputs(outputs) == {}


def test_the_action_plans_and_checks_drift_without_changing_the_server(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    registry_manifest(tmp_path / "models.yaml", registry, tiny, embed)
    outputs = tmp_path / "outputs"
    env = {
        "OP_MANIFEST": "models.yaml",
        "OP_HOST": ollama.url,
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    script = ["bash", str(ACTION / "run.sh")]
    assert run(script, {**env, "OP_MANIFEST": "models.yaml"}, tmp_path).returncode == 0
    step_outputs(outputs)
    httpx.request(  # the server loses one model: drift
        "DELETE", ollama.url + "/api/delete", json={"model": embed}, timeout=30
    ).raise_for_status()

    plan = run(script, {**env, "OP_COMMAND": "plan"}, tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"+ pull   {embed}  (missing)" in plan.stdout
    assert "plan: 1 change(s) to make" in plan.stdout
    assert step_outputs(outputs) == {"changed": "false", "drift": "true"}
    gated = run(script, {**env, "OP_COMMAND": "plan", "OP_ARGS": "--exit-code"}, tmp_path)
    assert gated.returncode == 3
    step_outputs(outputs)

    drift = run(script, {**env, "OP_COMMAND": "drift"}, tmp_path)
    assert drift.returncode == 3, drift.stdout + drift.stderr
    assert f"::error file=models.yaml,title=ollama-provision drift::missing: {embed}" in (
        drift.stdout
    )
    assert step_outputs(outputs) == {"changed": "false", "drift": "true"}
    assert embed not in names_on(ollama), "plan and drift change nothing"

    unknown = run(script, {**env, "OP_COMMAND": "destroy"}, tmp_path)
    assert unknown.returncode == 2
    assert "use apply, plan or drift" in unknown.stdout


def test_the_action_annotates_an_invalid_manifest_at_its_lines(tmp_path: Path) -> None:
    invalid = tmp_path / "deploy" / "models.yaml"
    invalid.parent.mkdir()
    invalid.write_text("version: 1\nmodels:\n  - name: tiny\n  - nmae: llama3.2\n    warm: yes\n")
    outputs = tmp_path / "outputs"
    for command in ("apply", "plan", "drift"):
        env = {  # an absolute path: annotations name files relative to the workspace
            "OP_MANIFEST": str(invalid),
            "OP_COMMAND": command,
            "OP_HOST": f"http://127.0.0.1:{free_port()}",  # never reached
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_WORKSPACE": str(tmp_path),
        }
        result = run(["bash", str(ACTION / "run.sh")], env, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
        title = f"title=ollama-provision {command}"
        assert annotations, result.stdout
        assert all(a.startswith("::error file=deploy/models.yaml,line=") for a in annotations)
        assert (
            f"::error file=deploy/models.yaml,line=4,col=5,{title}::"
            "unknown key 'nmae' in models[1] (did you mean 'name'?)"
        ) in annotations
        assert step_outputs(outputs) == {"changed": "false", "drift": ""}


# ---- pre-commit --------------------------------------------------------------------------


HELM_VALUES = """\
ollama:
  gpu:
    enabled: false
  models:
    pull: [llama3.2]
"""


def hook_entry() -> list[str]:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return shlex.split(hook["entry"])  # as pre-commit splits it


def test_the_pre_commit_hook_is_declared_for_yaml_files() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "ollama-provision-validate"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    assert "files" not in hook, "which files is decided by content, not by name"
    entry = hook_entry()
    assert entry[:2] == ["python", "-c"]
    assert "'validate', '--allow-unset'" in entry[2]


def test_the_hook_validates_manifests_found_by_content_and_leaves_other_yaml(
    tmp_path: Path,
) -> None:
    # What pre-commit passes: every staged YAML file, whatever its name.
    others = {
        "ollama-values.yaml": HELM_VALUES,  # a Helm chart's values: models is nested
        "docker-compose.yaml": 'version: "3.8"\nservices:\n  ollama:\n    image: ollama\n',
        "continue.yaml": "name: cfg\nversion: 0.0.1\nmodels:\n  - provider: ollama\n",
        "models-notes.yaml": "models:\n  - whatever: 1\n",  # no version: not a manifest
    }
    for name, text in others.items():
        (tmp_path / name).write_text(text)
    skipped = run([*hook_entry(), *others], cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert skipped.stdout == skipped.stderr == ""

    broken = tmp_path / "deploy" / "team.yml"  # any name: the content makes it a manifest
    broken.parent.mkdir()
    broken.write_text("# team models\nversion: 1\nmodels:\n  - nmae: llama3.2\n")
    bad = run([*hook_entry(), *others, "deploy/team.yml"], cwd=tmp_path)
    assert bad.returncode == 2
    assert "deploy/team.yml:4:5: unknown key 'nmae'" in bad.stderr
    assert not any(name in bad.stdout + bad.stderr for name in others)

    quoted = tmp_path / "quoted.yaml"  # a wrong version is still a manifest, and fails
    quoted.write_text("version: '2'\r\nmodels: []\r\n")
    assert run([*hook_entry(), "quoted.yaml"], cwd=tmp_path).returncode == 2


def test_the_hook_passes_the_examples_and_allows_unset_variables(tmp_path: Path) -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 3
    # demo.yaml names ${DEMO_REGISTRY}, unset here: --allow-unset makes that a warning.
    good = run([*hook_entry(), *examples])
    assert good.returncode == 0, good.stderr
    assert "DEMO_REGISTRY is not set" in good.stderr
    assert good.stdout.count(": valid") == len(examples)


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
    # The README's install section, the same command.
    install = "pipx install git+https://github.com/ollama-provision/ollama-provision@main"
    assert install in (ROOT / "README.md").read_text()
    assert install in no_tool.stderr
    wheel = "./dist/ollama_provision-0.1.0-py3-none-any.whl"
    from_wheel = run(
        [str(ONBOARDING)],
        {"OLLAMA_PROVISION": "no-such-ollama-provision", "OLLAMA_PROVISION_SOURCE": wheel},
    )
    assert f"pipx install {wheel}" in from_wheel.stderr
    assert f"python3 -m pip install --user {wheel}" in from_wheel.stderr
