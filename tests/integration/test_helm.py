"""The Helm chart in deploy/helm: linted and rendered by the real helm, the rendered
objects checked against the Kubernetes schemas, and the rendered Job's command run
as rendered against a real Ollama server (there is no cluster here)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.testbed.build import ensure_go_tool
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "ollama-provision"
EXAMPLE = CHART / "examples" / "values-example.yaml"
README = ROOT / "deploy" / "README.md"
# The project's own command, as installed in the environment the tests run in.
TOOL = Path(sys.executable).with_name("ollama-provision")
MUTATING = {"/api/pull", "/api/create", "/api/copy", "/api/delete", "/api/blobs"}
# The oldest and the newest release whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")

Doc = dict[str, Any]


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    helm = ensure_go_tool("helm")
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _render(*args: str) -> list[Doc]:
    result = _helm("template", "models", str(CHART), "--namespace", "ai", *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _one(docs: list[Doc], kind: str, component: str | None = None) -> Doc:
    found = [
        d
        for d in docs
        if d["kind"] == kind
        and (
            component is None or d["metadata"]["labels"]["app.kubernetes.io/component"] == component
        )
    ]
    assert len(found) == 1, [(d["kind"], d["metadata"]["name"]) for d in docs]
    return found[0]


def _pod(workload: Doc) -> Doc:
    spec = workload["spec"]
    job = spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec
    pod: Doc = job["template"]["spec"]
    return pod


def _container(workload: Doc) -> Doc:
    containers = _pod(workload)["containers"]
    assert len(containers) == 1
    container: Doc = containers[0]
    return container


VALUE_SETS = {"default": (), "example": ("-f", str(EXAMPLE))}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_lint_is_clean(values: tuple[str, ...]) -> None:
    for strict in ((), ("--strict",)):
        result = _helm("lint", *strict, str(CHART), *values)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
        assert "[ERROR]" not in result.stdout and "[WARNING]" not in result.stdout, result.stdout


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_config_map_holds_the_values_manifest(values: tuple[str, ...]) -> None:
    source = yaml.safe_load((EXAMPLE if values else CHART / "values.yaml").read_text())
    config = _one(_render(*values), "ConfigMap")
    assert config["metadata"]["name"] == "models-ollama-provision-manifest"
    assert yaml.safe_load(config["data"]["models.yaml"]) == source["manifest"]
    assert "models.lock.json" not in config["data"]


def test_manifest_file_is_kept_verbatim(tmp_path: Path) -> None:
    text = (
        "  # an indented comment first: line numbers must match the file\n"
        "version: 1\nmodels:\n  - name: llama3.2  # kept\n"
    )
    path = tmp_path / "models.yaml"
    path.write_text(text)
    lock = tmp_path / "models.lock.json"
    lock.write_text('{"version": 1}\n')
    docs = _render(
        "--set-file", f"manifestFile={path}", "--set-file", f"lockFile={lock}",
        "--set", "apply.locked=true",
    )  # fmt: skip
    data = _one(docs, "ConfigMap")["data"]
    assert data["models.yaml"] == text
    assert data["models.lock.json"] == lock.read_text()
    assert "--locked" in _container(_one(docs, "Job"))["args"]


def test_locked_without_a_lock_is_refused_at_render() -> None:
    result = _helm("template", "models", str(CHART), "--set", "apply.locked=true")
    assert result.returncode != 0
    assert "apply.locked needs lockFile" in result.stderr


def test_the_job_is_a_post_install_and_post_upgrade_hook() -> None:
    docs = _render()
    job = _one(docs, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["activeDeadlineSeconds"] == 7200
    container = _container(job)
    assert container["command"] == ["ollama-provision"]
    assert container["args"] == [
        "apply", "--host", "http://ollama:11434", "--yes",
        "--parallel", "2", "--stall-timeout", "2m", "/config/models.yaml",
    ]  # fmt: skip
    pod = _pod(job)
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The tool's cache is writable although the root filesystem is not.
    assert {"name": "OLLAMA_PROVISION_CACHE", "value": "/cache"} in container["env"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/cache"]]
    assert (
        volumes[mounts["/config"]]["configMap"]["name"]
        == _one(docs, "ConfigMap")["metadata"]["name"]
    )
    # No CronJob unless asked for.
    assert [d["kind"] for d in docs] == ["ConfigMap", "Job"]


@pytest.mark.parametrize(("prune", "flag"), [("true", "--prune"), ("false", "--no-prune")])
def test_prune_value_becomes_the_flag(prune: str, flag: str) -> None:
    args = _container(_one(_render("--set", f"apply.prune={prune}"), "Job"))["args"]
    other = ({"--prune", "--no-prune"} - {flag}).pop()
    assert flag in args and other not in args


def test_example_runs_the_same_apply_on_a_schedule_and_checks_drift() -> None:
    docs = _render("-f", str(EXAMPLE))
    job = _container(_one(docs, "Job"))
    cron_apply = _one(docs, "CronJob", "apply")
    cron_drift = _one(docs, "CronJob", "drift")
    assert _container(cron_apply)["args"] == job["args"]
    assert cron_drift["spec"]["schedule"] == "*/15 * * * *"
    assert _container(cron_drift)["args"] == [
        "drift", "--host", "http://ollama.ai.svc.cluster.local:11434",
        "--check-updates", "/config/models.yaml",
    ]  # fmt: skip
    # A drift run that finds drift (exit 3) fails its Job at once: no retries hide it.
    assert cron_drift["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert _pod(cron_drift)["affinity"] == yaml.safe_load(EXAMPLE.read_text())["affinity"]


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_objects_match_the_kubernetes_schemas(values: tuple[str, ...]) -> None:
    docs = _render(*values, "--set", "cronJob.apply.enabled=true,cronJob.drift.enabled=true")
    assert {d["kind"] for d in docs} == {"ConfigMap", "Job", "CronJob"}
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            # strict: a field the schema does not know is an error, not ignored.
            kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    job = _one(_render(), "Job")
    _container(job)["readOnlyRootFileSystem"] = True  # wrong case: Kubernetes would drop it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSIONS[-1], strict=True)


# --- The rendered commands, run against a real server ------------------------------


def _localize(container: Doc, host: str, manifest: Path) -> list[str]:
    """The container's command line with only the in-cluster host and manifest path swapped."""
    line = [*container["command"], *container["args"]]
    assert line[0] == "ollama-provision"
    assert line.count("/config/models.yaml") == 1
    rendered_host = line[line.index("--host") + 1]
    assert line.count(rendered_host) == 1
    swap = {"/config/models.yaml": str(manifest), rendered_host: host}
    return [str(TOOL)] + [swap.get(arg, arg) for arg in line[1:]]


def _pod_env(container: Doc, cache: Path) -> dict[str, str]:
    """The container's literal env (its cache mount mapped to a local folder); no OLLAMA_HOST."""
    env = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"].replace("/cache", str(cache))
    assert env["OLLAMA_PROVISION_CACHE"] == str(cache)
    return env


def _run(line: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(line, env=env, capture_output=True, text=True, timeout=600, check=False)


def _mutations(server: OllamaServer, since: int = 0) -> list[str]:
    return [p for _, m, p in server.settled_requests()[since:] if m != "GET" and p in MUTATING]


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_the_rendered_job_converges_a_real_server(
    values: tuple[str, ...], ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed, extra = (
        registry.name("library/tiny"),
        registry.name("library/tiny-embed"),
        registry.name("library/tiny", "v2"),
    )
    source = tmp_path / "source.yaml"
    source.write_text(
        "version: 1\nprune:\n  enabled: true\nmodels:\n"
        f"  - name: {tiny}\n    insecure: true\n"
        f"  - name: {embed}\n    insecure: true\n"
    )
    docs = _render(
        *values, "--set-file", f"manifestFile={source}", "--set", "cronJob.drift.enabled=true"
    )
    # The pod's view: the ConfigMap's models.yaml in the mounted folder.
    config = tmp_path / "config"
    config.mkdir()
    manifest = config / "models.yaml"
    manifest.write_text(_one(docs, "ConfigMap")["data"]["models.yaml"])
    job, drift = _container(_one(docs, "Job")), _container(_one(docs, "CronJob", "drift"))
    apply_line = _localize(job, ollama.url, manifest)
    drift_line = _localize(drift, ollama.url, manifest)
    env = _pod_env(job, tmp_path / "cache")

    # An undeclared model: pruning deletes it, without a prompt (the Job has no terminal).
    ollama.cli("pull", "--insecure", extra)
    start = len(ollama.settled_requests())
    before = _run(drift_line, env)
    assert before.returncode == 3, before.stdout + before.stderr  # the drift CronJob's Job fails

    first = _run(apply_line, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert set(ollama.tags()) == {tiny, embed}
    assert sorted(_mutations(ollama, start)) == ["/api/delete", "/api/pull", "/api/pull"]
    assert "\x1b[" not in first.stdout + first.stderr  # plain lines in a Job's log

    count = len(ollama.settled_requests())
    second = _run(apply_line, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "in sync: 2 model(s)" in second.stdout
    assert _mutations(ollama, count) == []

    after = _run(drift_line, env)
    assert after.returncode == 0, after.stdout + after.stderr


def _readme_otwld_values() -> Doc:
    match = re.search(r"<!-- otwld-values -->\s*```yaml\n(.*?)```", README.read_text(), re.S)
    assert match, "deploy/README.md lost its otwld/ollama-helm values snippet"
    values: Doc = yaml.safe_load(match.group(1))
    return values


def test_the_otwld_sidecar_runs_the_jobs_apply_command() -> None:
    """The README's sidecar for otwld/ollama-helm runs the Job's apply line, against localhost."""
    sidecar = _readme_otwld_values()["initContainers"][0]
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: it runs beside Ollama
    script = sidecar["args"][-1]
    apply = next(line for line in script.splitlines() if "ollama-provision apply" in line)
    words = shlex.split(apply.split("&&")[0])
    job = _container(_one(_render("--set", "ollama.host=http://localhost:11434"), "Job"))
    assert words == [*job["command"], *job["args"]]
