"""The Ansible collection end to end: the real ansible-playbook (ansible-core from the
dev extras) runs examples/ansible/playbook.yml against three real Ollama servers,
v0.11.4 and v0.34.4 mixed, one inventory host each (ansible_connection: local)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_runner import run_cli
from tests.testbed.build import PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "examples" / "ansible" / "playbook.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
MUTATING = {"/api/pull", "/api/create", "/api/copy", "/api/delete", "/api/blobs"}
HOSTS = ("old-1", "new-1", "old-2")


_RESULT = re.compile(r"^(?:ok|changed|fatal|failed): \[([^\]]+)\](?:: FAILED!)? => ", re.M)
_TASK = re.compile(r"^TASK \[(.*)\] \**$", re.M)
_RECAP = re.compile(r"^(\S+)\s+: ((?:\w+=\d+\s*)+)$", re.M)


@dataclass
class Run:
    """A run of ansible-playbook -v with the default callback printing results as JSON
    (core has no JSON callback; ansible.posix's is not installed here)."""

    code: int
    out: str
    err: str

    def stats(self) -> dict[str, dict[str, int]]:
        """The PLAY RECAP: host -> {ok, changed, failed, ...}."""
        recap = self.out[self.out.index("PLAY RECAP") :]
        return {
            host: {k: int(v) for k, v in (f.split("=") for f in fields.split())}
            for host, fields in _RECAP.findall(recap)
        }

    def task(self, name: str) -> dict[str, dict[str, Any]]:
        """Each host's result of the task `name`."""
        found: dict[str, dict[str, Any]] = {}
        tasks = [(m.start(), m.group(1)) for m in _TASK.finditer(self.out)]
        for match in _RESULT.finditer(self.out):
            task = [t for start, t in tasks if start < match.start()][-1]
            if task == name:
                result, _ = json.JSONDecoder().raw_decode(self.out, match.end())
                found[match.group(1)] = result
        assert found, f"no result of task {name!r} in:\n{self.out}"
        return found


@pytest.fixture
def servers(
    ollama: OllamaServer, newest_ollama: OllamaServer, tmp_path: Path
) -> Iterator[dict[str, OllamaServer]]:
    third = start_server(PINNED, tmp_path / "third")
    try:
        yield dict(zip(HOSTS, (ollama, newest_ollama, third), strict=True))
    finally:
        third.stop()


def _inventory(
    tmp_path: Path, servers: dict[str, OllamaServer], manifests: dict[str, Path] | None = None
) -> Path:
    hosts: dict[str, dict[str, str]] = {}
    for name, server in servers.items():
        hosts[name] = {"ollama_host": server.url}
        if manifests and name in manifests:
            hosts[name]["models_manifest"] = str(manifests[name])
    inventory = {
        "all": {
            "children": {
                "ollama_servers": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                    },
                    "hosts": hosts,
                }
            }
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps(inventory, indent=2))  # JSON is YAML
    return path


def _playbook(
    tmp_path: Path,
    registry: FilledRegistry,
    inventory: Path,
    *args: str,
    playbook: Path = PLAYBOOK,
    verbose: bool = True,
) -> Run:
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO),
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "DEMO_REGISTRY": registry.host,
    }
    env.pop("OLLAMA_HOST", None)  # every host must be reached through its own ollama_host
    verbosity = ["-v"] if verbose else []  # -v prints every result (as JSON)
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), *verbosity, "-i", str(inventory), str(playbook), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    return Run(result.returncode, result.stdout, result.stderr)


def _mutations(server: OllamaServer, since: int = 0) -> list[str]:
    return [p for _, m, p in server.settled_requests()[since:] if m != "GET" and p in MUTATING]


def _manifest(tmp_path: Path, name: str, *models: str) -> Path:
    path = tmp_path / name
    entries = "".join(f"  - name: {m}\n    insecure: true\n" for m in models)
    path.write_text(f"version: 1\nmodels:\n{entries}")
    return path


def test_the_playbook_converges_three_servers_then_is_a_no_op(
    servers: dict[str, OllamaServer], registry: FilledRegistry, tmp_path: Path
) -> None:
    inventory = _inventory(tmp_path, servers)
    first = _playbook(tmp_path, registry, inventory)
    assert first.code == 0, first.out + first.err
    for host in HOSTS:
        assert first.stats()[host]["changed"] == 1, first.stats()
        assert first.stats()[host]["failed"] == 0
    results = first.task("Converge the server's models")
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    for host, server in servers.items():
        assert results[host]["actions"] == [
            {"model": tiny, "action": "pull", "reason": "missing", "outcome": "done"},
            {"model": embed, "action": "pull", "reason": "missing", "outcome": "done"},
        ]
        assert [(d["model"], d["kind"]) for d in results[host]["drifts"]] == [
            (tiny, "missing"),
            (embed, "missing"),
        ]
        assert results[host]["msg"] == "apply: 2 done"
        assert results[host]["server_version"] == server.version
        assert sorted(server.tags()) == sorted([tiny, embed])
        assert _mutations(server) == ["/api/pull", "/api/pull"]

    servers["old-1"].cli("cp", tiny, "scratch")  # undeclared: reported, not drift
    counts = {host: len(server.settled_requests()) for host, server in servers.items()}
    second = _playbook(tmp_path, registry, inventory)
    assert second.code == 0, second.out + second.err
    results = second.task("Converge the server's models")
    assert [d["kind"] for d in results["old-1"]["drifts"]] == ["extra"]
    # "Say what drifted" says nothing for servers in sync, the one with an extra too
    said = second.out.split("TASK [Say what drifted]")[1].split("PLAY RECAP")[0]
    assert sorted(re.findall(r"^skipping: \[(\S+)\]", said, re.M)) == sorted(HOSTS), said
    assert not re.search(r"^ok: ", said, re.M), said
    for host, server in servers.items():
        assert second.stats()[host]["changed"] == 0, second.stats()
        assert results[host]["actions"] == []
        assert results[host]["msg"] == "in sync: 2 model(s) declared and present"
        # a no-op is two reads per server, as for the CLI
        assert server.settled_requests()[counts[host] :] == [
            (200, "GET", "/api/version"),
            (200, "GET", "/api/tags"),
        ]


def test_check_mode_plans_without_a_mutating_request_and_diff_shows_the_plan(
    servers: dict[str, OllamaServer], registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, team = registry.name("library/tiny"), registry.name("team/tiny", "v1")
    for server in servers.values():
        server.cli("pull", "--insecure", tiny)
    changed = _manifest(tmp_path, "changed.yaml", tiny, team)
    inventory = _inventory(tmp_path, servers, {h: changed for h in HOSTS})
    before = {host: len(server.settled_requests()) for host, server in servers.items()}

    run = _playbook(tmp_path, registry, inventory, "--check", "--diff", verbose=False)
    assert run.code == 0, run.out + run.err
    for host, server in servers.items():
        assert _mutations(server, before[host]) == [], server.settled_requests()[before[host] :]
        assert sorted(server.tags()) == [tiny]
        assert re.search(rf"{host}\s*: ok=2\s+changed=1\s+unreachable=0\s+failed=0", run.out)
    # the diff is the plan, as `ollama-provision plan -v` prints it, once per host
    pulls = re.findall(rf"^  \+ pull   {re.escape(team)}  \(missing[;)]", run.out, re.M)
    assert len(pulls) == 3, run.out
    assert run.out.count("plan: 1 to add, 0 to change, 0 to replace, 0 to delete") == 3
    assert run.out.count("ollama 0.11.4\n") == 2 and run.out.count("ollama 0.34.4\n") == 1

    as_json = _playbook(tmp_path, registry, inventory, "--check")
    results = as_json.task("Converge the server's models")
    for host in HOSTS:
        assert as_json.stats()[host]["changed"] == 1
        [action] = results[host]["actions"]
        assert (action["model"], action["action"], action["outcome"]) == (team, "pull", "planned")
        assert action["reason"].startswith("missing")
        assert results[host]["in_sync"] == [tiny]
        assert results[host]["msg"].startswith(
            "plan: 1 to add, 0 to change, 0 to replace, 0 to delete"
        )
    for host, server in servers.items():
        assert _mutations(server, before[host]) == []


def test_a_failing_model_fails_that_host_only(
    servers: dict[str, OllamaServer], registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, lacking = registry.name("library/tiny"), registry.name("library/nowhere")
    broken = _manifest(tmp_path, "broken.yaml", tiny, lacking)
    inventory = _inventory(tmp_path, servers, {"new-1": broken})

    run = _playbook(tmp_path, registry, inventory)
    assert run.code == 2, run.out + run.err  # ansible-playbook: a host failed
    stats = run.stats()
    assert stats["new-1"]["failed"] == 1, stats
    for host in ("old-1", "old-2"):
        assert stats[host]["failed"] == 0, stats
        assert stats[host]["changed"] == 1
        assert sorted(servers[host].tags()) == sorted([tiny, registry.name("library/tiny-embed")])
    failed = run.task("Converge the server's models")["new-1"]
    assert re.findall(r"^fatal: \[(\S+)\]", run.out, re.M) == ["new-1"]
    msg = failed["msg"]
    assert "\n" not in msg and "Traceback" not in msg
    assert msg.startswith(f"{lacking}: "), msg
    # what does not depend on the failing model is still converged, and said
    assert failed["changed"] is True
    assert {a["model"]: a["outcome"] for a in failed["actions"]} == {
        tiny: "done",
        lacking: "failed",
    }
    assert list(servers["new-1"].tags()) == [tiny]


def test_check_mode_fails_a_host_whose_model_the_registry_lacks_as_plan_does(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, typo = registry.name("library/tiny"), registry.name("library/tinyy")
    manifest = _manifest(tmp_path, "typo.yaml", tiny, typo)
    plan = run_cli("--host", ollama.url, "plan", str(manifest))
    assert plan.code == 1, plan.out + plan.err
    said = re.findall(rf"^  ! fail   {re.escape(typo)}  \((.*)\)$", plan.out, re.M)
    assert len(said) == 1 and "has no repository library/tinyy" in said[0], plan.out
    inventory = _inventory(tmp_path, {"old-1": ollama})
    playbook = _task_playbook(tmp_path, "check", manifest=str(manifest))
    before = len(ollama.settled_requests())
    run = _playbook(tmp_path, registry, inventory, "--check", playbook=playbook)
    assert run.code == 2, run.out + run.err  # the host failed: no green check
    result = run.task("Converge")["old-1"]
    assert result["msg"] == f"{typo}: {said[0]}"
    assert {(a["model"], a["outcome"]) for a in result["actions"]} == {
        (typo, "failed"),
        (tiny, "planned"),
    }
    assert _mutations(ollama, before) == []


def test_inline_models_converge_and_a_bad_one_is_one_line(
    servers: dict[str, OllamaServer], registry: FilledRegistry, tmp_path: Path
) -> None:
    playbook = tmp_path / "inline.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "name": "inline models",
                    "hosts": "ollama_servers",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Converge",
                            "ollama_provision.ollama.models": {
                                "host": "{{ ollama_host }}",
                                "models": "{{ inline_models }}",
                            },
                        }
                    ],
                }
            ]
        )
    )
    server = {"old-1": servers["old-1"]}
    inventory = _inventory(tmp_path, server)
    good = json.dumps(
        {"inline_models": [{"name": "${DEMO_REGISTRY}/team/tiny:v1", "insecure": True}]}
    )
    run = _playbook(tmp_path, registry, inventory, "-e", good, playbook=playbook)
    assert run.code == 0, run.out + run.err
    assert run.stats()["old-1"]["changed"] == 1
    assert list(servers["old-1"].tags()) == [registry.name("team/tiny", "v1")]

    bad = json.dumps({"inline_models": [{"name": "tiny", "pul": "always"}, {"name": "Bad Name!"}]})
    before = len(servers["old-1"].settled_requests())
    run = _playbook(tmp_path, registry, inventory, "-e", bad, playbook=playbook)
    assert run.code == 2, run.out + run.err
    failed = run.task("Converge")["old-1"]
    # the place is named in the option, not as a line of text the user never saw
    assert failed["msg"] == (
        "models[0].pul: unknown key 'pul' in model 'tiny' (did you mean 'pull'?) (and 1 more)"
    )
    assert failed["problems"][1].startswith("models[1].name: invalid model name 'Bad Name!'")
    assert len(failed["problems"]) == 2
    assert servers["old-1"].settled_requests()[before:] == []  # refused before connecting


def _task_playbook(tmp_path: Path, name: str, **options: object) -> Path:
    """A playbook of one models task with these options (and the host's ollama_host)."""
    playbook = tmp_path / f"{name}.yml"
    task = {
        "name": "Converge",
        "ollama_provision.ollama.models": {"host": "{{ ollama_host }}", **options},
    }
    play = {"name": name, "hosts": "ollama_servers", "gather_facts": False, "tasks": [task]}
    playbook.write_text(json.dumps([play]))
    return playbook


def test_locked_refuses_in_check_mode_and_apply_and_prune_needs_allow_deletions(
    servers: dict[str, OllamaServer], registry: FilledRegistry, tmp_path: Path
) -> None:
    server = servers["old-1"]
    inventory = _inventory(tmp_path, {"old-1": server})
    tiny, team = registry.name("library/tiny"), registry.name("team/tiny", "v1")
    manifest = _manifest(tmp_path, "models.yaml", tiny)
    assert run_cli("lock", str(manifest)).code == 0
    _manifest(tmp_path, "models.yaml", tiny, team)  # team/tiny is not in the lock
    locked = _task_playbook(tmp_path, "locked", manifest=str(manifest), locked=True)
    before = len(server.settled_requests())
    for mode in (["--check"], []):
        run = _playbook(tmp_path, registry, inventory, *mode, playbook=locked)
        assert run.code == 2, run.out + run.err
        msg = run.task("Converge")["old-1"]["msg"]
        assert "refusing to apply" in msg and team in msg and "\n" not in msg, msg
    assert _mutations(server, before) == [] and server.tags() == {}

    stray = registry.name("library/tiny", "v2")
    server.cli("pull", "--insecure", stray)
    _manifest(tmp_path, "models.yaml", tiny)
    refused = _task_playbook(tmp_path, "prune", manifest=str(manifest), prune=True)
    run = _playbook(tmp_path, registry, inventory, playbook=refused)
    assert run.code == 2, run.out + run.err
    msg = run.task("Converge")["old-1"]["msg"]
    assert msg == f"the plan prunes {stray}; set allow_deletions: true to allow it", msg
    assert list(server.tags()) == [stray]  # nothing pulled, nothing deleted

    allowed = _task_playbook(
        tmp_path, "allowed", manifest=str(manifest), prune=True, allow_deletions=True
    )
    run = _playbook(tmp_path, registry, inventory, playbook=allowed)
    assert run.code == 0, run.out + run.err
    actions = run.task("Converge")["old-1"]["actions"]
    assert {(a["model"], a["action"], a["outcome"]) for a in actions} == {
        (tiny, "pull", "done"),
        (stray, "delete", "done"),
    }
    assert list(server.tags()) == [tiny]


def test_a_python_without_ollama_provision_is_one_line(
    registry: FilledRegistry, tmp_path: Path
) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    inventory = tmp_path / "inventory.yml"
    python = str(bare / "bin" / "python")
    group = {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": python},
        "hosts": {"plain": {"ollama_host": "http://127.0.0.1:9"}},
    }
    inventory.write_text(json.dumps({"all": {"children": {"ollama_servers": group}}}))
    run = _playbook(tmp_path, registry, inventory)
    assert run.code == 2, run.out + run.err
    assert run.task("Converge the server's models")["plain"]["msg"] == (
        f"the Python running this module ({python}) cannot import "
        "ollama-provision; install it there (Python 3.10+), or point "
        "ansible_python_interpreter at the Python that has it"
    )


def test_ansible_lint_passes_the_collection_and_the_example() -> None:
    collection = REPO / "ansible_collections" / "ollama_provision" / "ollama"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(REPO),
        "NO_COLOR": "1",
    }
    for folder, files in ((collection, []), (PLAYBOOK.parent, ["playbook.yml", "inventory.yml"])):
        lint = subprocess.run(
            [str(Path(sys.executable).with_name("ansible-lint")), "--offline", *files],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=240,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
        assert "0 failure(s), 0 warning(s)" in lint.stderr + lint.stdout
        assert "profile that met the validation criteria was 'production'" in lint.stderr
