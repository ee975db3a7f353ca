"""A plan previews what apply will meet at the registry (reconcile/downloads.py), on a
real server and a real registry: for each case of the table, plan, plan --exit-code,
drift and apply agree, in the same words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.registry import Registry, start_registry

MUTATING = ("/api/pull", "/api/create", "/api/copy", "/api/delete", "/api/blobs")


@dataclass(frozen=True)
class Case:
    name: str  # the model the manifest declares, with {reg} for the filled registry
    extra: str  # more lines of the model's entry
    says: str  # a regular expression the one failure line's message must match


REFUSED = [
    Case(
        "{reg}/library/tinyy:latest",
        "    insecure: true\n",
        r"registry \S+ has no repository library/tinyy: check the model's name",
    ),
    Case(
        "{reg}/library/tiny:nope",
        "    insecure: true\n",
        r"registry \S+ has no tag nope of library/tiny \(it has .*latest.*\): check the tag",
    ),
    Case(
        "{reg}/library/tiny:latest",
        "",  # the registry speaks plain http, and the entry does not say insecure
        r"registry \S+ speaks plain http, not https: set insecure: true",
    ),
    Case(
        "{reg}/library/tiny:latest",
        "    insecure: true\n    digest: sha256:" + "0" * 64 + "\n",
        r"pinned sha256:0{64} but the registry serves sha256:[0-9a-f]{64} for tag latest",
    ),
    Case(
        "{private}/library/tiny:latest",
        "    insecure: true\n",
        r"registry \S+ requires authentication for reading library/tiny:latest: log in",
    ),
]


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry that wants credentials nobody here has."""
    registry = start_registry(
        tmp_path_factory.mktemp("private"), credentials=("someone", "secret-password")
    )
    yield registry
    registry.stop()


def _manifest(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n" + "".join(entries))
    return path


def _runs(ollama: OllamaServer, path: Path, env: dict[str, str]) -> dict[str, Run]:
    host = ("--host", ollama.url)
    return {
        "plan": run_cli(*host, "plan", str(path), env=env),
        "plan --exit-code": run_cli(*host, "plan", "--exit-code", str(path), env=env),
        "drift": run_cli(*host, "drift", str(path), env=env),
        "apply --dry-run": run_cli(*host, "apply", "--dry-run", str(path), env=env),
        "apply": run_cli(*host, "apply", str(path), env=env),
    }


@pytest.mark.parametrize("case", REFUSED, ids=["repository", "tag", "plain-http", "pin", "401"])
def test_what_the_registry_refuses_fails_plan_drift_and_apply_alike(
    ollama: OllamaServer,
    registry: FilledRegistry,
    private: Registry,
    tmp_path: Path,
    case: Case,
) -> None:
    name = case.name.format(reg=registry.host, private=private.host)
    path = _manifest(tmp_path, f"  - name: {name}\n{case.extra}")
    empty = tmp_path / "docker"  # no credentials for anyone
    empty.mkdir()
    env = {"DOCKER_CONFIG": str(empty), "HOME": str(tmp_path)}
    before = len(ollama.settled_requests())
    runs = _runs(ollama, path, env)

    fail = re.compile(rf"^  ! fail   {re.escape(name)}  \((.*)\)$", re.M)
    said = fail.findall(runs["plan"].out)
    assert len(said) == 1, runs["plan"].out + runs["plan"].err
    message = said[0]
    assert re.search(case.says, message), message
    assert "\n" not in message and "Traceback" not in runs["plan"].err
    codes = {command: run.code for command, run in runs.items()}
    assert codes == {c: 1 for c in runs}, {c: (r.code, r.out, r.err) for c, r in runs.items()}
    assert fail.findall(runs["plan --exit-code"].out) == [message]
    assert fail.findall(runs["apply --dry-run"].out) == [message]
    assert f"error: {name}: {message}" in runs["drift"].err
    assert f"  FAILED check {name}: {message}" in runs["apply"].out, runs["apply"].out
    # apply stopped at the check: the server was asked nothing that writes
    sent = ollama.settled_requests()[before:]
    assert [r for r in sent if r[2].startswith(MUTATING)] == []
    assert ollama.tags() == {}


def test_a_registry_unreachable_from_here_is_one_warning_and_the_plan_stands(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    gone = "127.0.0.1:9"  # nothing listens: nor for the server, which runs here too
    tiny = registry.name("library/tiny")
    path = _manifest(
        tmp_path,
        f"  - name: {gone}/library/one\n    insecure: true\n",
        f"  - name: {gone}/library/two\n    insecure: true\n",
        f"  - name: {tiny}\n    insecure: true\n",
    )
    runs = _runs(ollama, path, {})
    warning = re.compile(rf"^warning: not checked: {re.escape(gone)} unreachable from here", re.M)
    for command in ("plan", "plan --exit-code", "drift", "apply --dry-run"):
        assert len(warning.findall(runs[command].out)) == 1, command + runs[command].out
    assert (runs["plan"].code, runs["plan --exit-code"].code) == (0, 3)
    assert runs["drift"].code == 3  # missing is known without the registry
    assert "! fail" not in runs["plan"].out
    assert f"  + pull   {gone}/library/one" in runs["plan"].out
    # apply lets the server try: it cannot reach it either, and says so; tiny converges
    assert runs["apply"].code == 1
    assert re.search(rf"^  FAILED pull {re.escape(gone)}/library/one", runs["apply"].out, re.M)
    assert tiny in ollama.tags()
