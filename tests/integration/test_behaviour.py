"""Words and exit codes that mean what they say, against real servers: one table per
section of the behaviour we promise (docs/BEHAVIOUR.md)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.faultproxy import FaultProxy
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

DEAD = "http://127.0.0.1:9"


def write(tmp_path: Path, body: str, name: str = "models.yaml") -> Path:
    path = tmp_path / name
    path.write_text("version: 1\nmodels:\n" + body)
    return path


def entry(name: str, extra: str = "") -> str:
    return f"  - name: {name}\n    insecure: true\n{extra}"


# -- semantics and exit codes -----------------------------------------------------------


def test_a_warm_up_is_never_drift_nor_a_pending_change(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    ollama.cli("pull", "--insecure", tiny)  # present, not loaded
    path = write(tmp_path, entry(tiny, "    warm: true\n"))
    plan = run_cli("--host", ollama.url, "plan", "--exit-code", str(path))
    assert (plan.code, plan.out.splitlines()[-1]) == (
        0,
        "plan: 0 to add, 0 to change, 0 to replace, 0 to delete; 1 to warm",
    )
    assert f"  * warm   {tiny}  (warm-up: not loaded)" in plan.out
    drift = run_cli("--host", ollama.url, "drift", str(path))
    assert (drift.code, drift.out.splitlines()[-1]) == (0, "no drift: 1 model(s) in sync")


@pytest.mark.parametrize("exit_code_flag", [(), ("--exit-code",)])
def test_a_plan_holding_a_failure_exits_1(
    ollama: OllamaServer,
    registry: FilledRegistry,
    tmp_path: Path,
    exit_code_flag: tuple[str, ...],
) -> None:
    tiny = registry.name("library/tiny")
    path = write(tmp_path, entry(tiny, "    digest: sha256:" + "0" * 64 + "\n"))
    plan = run_cli("--host", ollama.url, "plan", *exit_code_flag, str(path))
    assert plan.code == 1
    assert f"  ! fail   {tiny}  (pinned sha256:{'0' * 64} but the registry serves" in plan.out


def test_drift_reports_missing_models_without_the_registry(
    ollama: OllamaServer, tmp_path: Path
) -> None:
    gone = "127.0.0.1:9/library/gone:latest"  # a registry that is not there
    path = write(tmp_path, entry(gone, "    digest: sha256:" + "1" * 64 + "\n"))
    drift = run_cli("--host", ollama.url, "drift", str(path))
    assert drift.code == 3, drift.out + drift.err
    assert f"missing            {gone}: expected present, actual absent" in drift.out


def test_absent_needs_no_consent_but_pruning_does(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    for name in (tiny, embed):
        ollama.cli("pull", "--insecure", name)
    ollama.cli("cp", tiny, "scratch")
    path = write(tmp_path, entry(tiny) + f"  - name: {embed}\n    state: absent\n")
    absent = run_cli("--host", ollama.url, "apply", str(path))  # stdin is not a terminal
    assert absent.code == 0 and f"  ok     delete {embed}" in absent.out, absent.err
    pruned = run_cli("--host", ollama.url, "apply", "--prune", str(path))
    assert pruned.code == 2
    assert pruned.err.strip() == (
        "error: apply would delete 1 undeclared model(s) (scratch:latest); "
        "rerun with --yes to allow deletions (stdin is not a terminal)"
    )
    assert "scratch:latest" in ollama.tags()


def test_no_at_the_prune_prompt_cancels_and_changes_nothing(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    ollama.cli("pull", "--insecure", tiny)
    ollama.cli("cp", tiny, "scratch")
    path = write(tmp_path, entry(tiny))
    before = len(ollama.settled_requests())
    # A terminal on stdin (a pty) makes apply ask; "n" is typed ahead of the prompt.
    leader, follower = pty.openpty()
    try:
        command = [sys.executable, "-m", "provisioner", "--host", ollama.url, "apply"]
        proc = subprocess.Popen(
            [*command, "--prune", str(path)],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, b"n\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 1, out + err
    assert out.endswith("delete 1 undeclared model(s): scratch:latest? [y/N]: ")
    assert err.splitlines() == ["apply cancelled; nothing changed"]
    assert set(ollama.tags()) == {tiny, "scratch:latest"}
    changing = ("/api/delete", "/api/pull", "/api/copy", "/api/create")
    assert [p for _, _, p in ollama.settled_requests()[before:] if p in changing] == []


def test_lock_again_says_what_moved_and_keeps_the_umask(
    registry: FilledRegistry, tmp_path: Path
) -> None:
    name = registry.push("library/moves", "v1", seed=50)
    path = write(tmp_path, entry(name))
    assert run_cli("lock", str(path)).code == 0
    registry.push("library/moves", "v1", seed=51)
    again = run_cli("lock", str(path))
    moved = [line for line in again.out.splitlines() if line.startswith("  moved ")]
    assert len(moved) == 1 and moved[0].startswith(f"  moved {name}: sha256:")
    assert (tmp_path / "models.lock.json").stat().st_mode & 0o777 == 0o644  # umask 022


# -- errors: one line, the host, the cause, what to do ------------------------------------


@pytest.fixture
def proxy(ollama: OllamaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(ollama.url).start()
    yield p
    p.stop()


def test_error_lines(
    ollama: OllamaServer, registry: FilledRegistry, proxy: FaultProxy, tmp_path: Path
) -> None:
    path = write(tmp_path, entry(registry.name("library/tiny")))
    registry_url = f"http://{registry.host}"
    cases: list[tuple[tuple[str, ...], dict[str, str], int, str]] = [
        (
            ("--host", registry_url, "status"),
            {},
            1,
            f"error: {registry_url} answered 404 Not Found (a body that is not JSON): "
            "is this an Ollama server?",
        ),
        (
            ("--host", "ftp://x", "plan", str(path)),
            {},
            2,
            "error: --host: 'ftp://x' is not an Ollama address: use http:// or https://",
        ),
        (
            ("--host", DEAD, "drift", str(path)),
            {},
            1,
            f"error: cannot connect to {DEAD}: is Ollama running there? (check --host) "
            "(gave up after 4 attempts)",
        ),
        (
            ("drift", str(path)),
            {"OLLAMA_HOST": DEAD},
            1,
            f"error: cannot connect to {DEAD}: is Ollama running there? (check OLLAMA_HOST) "
            "(gave up after 4 attempts)",
        ),
    ]
    port = ollama.url.rpartition(":")[2]
    cases += [
        (  # the listen-address note goes with the failure (and into -o json, below)
            ("status",),
            {"OLLAMA_HOST": "0.0.0.0:9"},
            1,
            f"error: cannot connect to {DEAD}: is Ollama running there? (check OLLAMA_HOST; "
            "0.0.0.0 is a listen address; connecting to 127.0.0.1 instead) "
            "(gave up after 4 attempts)",
        ),
        (  # TLS to a plain-http server: said at once, not retried
            ("--host", f"https://127.0.0.1:{port}", "status"),
            {},
            1,
            f"error: https://127.0.0.1:{port} answers plain http, not TLS: "
            f"use http://127.0.0.1:{port}",
        ),
    ]
    for args, env, code, line in cases:
        result = run_cli(*args, env=env)
        errors = [x for x in result.err.splitlines() if not x.startswith("  ")]
        assert (result.code, errors[-1]) == (code, line), (args, result.err)
        assert "<html" not in result.err.lower() and "Traceback" not in result.err
        assert "retry" not in result.err or "gave up" in line
    as_json = run_cli("-o", "json", "status", env={"OLLAMA_HOST": "[::]:9"})
    error = json.loads(as_json.out)
    assert (as_json.code, error["kind"]) == (1, "error")
    assert ":: is a listen address; connecting to ::1 instead" in error["error"]


def test_ollama_errors_are_translated_and_dns_is_not_retried(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    nosuch, unresolvable = registry.name("library/nosuch"), "nosuchhost.invalid/library/x:latest"
    path = write(tmp_path, entry(nosuch) + entry(unresolvable))
    started = time.monotonic()
    result = run_cli("--host", ollama.url, "apply", str(path))
    elapsed = time.monotonic() - started
    assert result.code == 1
    # the plan read the registry first: apply stops at that check, in its words
    assert (
        f"  FAILED check {nosuch}: registry {registry.host} has no repository library/nosuch: "
        "check the model's name (and its namespace) in the manifest" in result.out
    )
    assert "warning: not checked: nosuchhost.invalid unreachable from here" in result.out
    assert (
        f"  FAILED pull {unresolvable}: cannot resolve the registry host nosuchhost.invalid "
        "(no such host): check the host in the model's name and this machine's DNS"
    ) in result.out
    assert "retry" not in result.out + result.err and "insecure" not in result.out
    assert elapsed < 20, elapsed


def test_retries_are_visible_and_the_last_failure_counts_attempts(
    proxy: FaultProxy, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    path = write(tmp_path, entry(tiny))
    proxy.fail("/api/tags", 500)
    proxy.fail("/api/pull", 500, 500, 500, 500)
    result = run_cli("--host", proxy.url, "apply", str(path))
    assert result.code == 1
    assert "  retry 2/4 after HTTP 500\n" in result.out  # /api/tags, before the plan
    assert f"  {tiny}: retry 2/4 after HTTP 500" in result.out
    assert f"  {tiny}: retry 4/4 after HTTP 500" in result.out
    assert f"FAILED pull {tiny}: injected 500 (gave up after 4 attempts)" in result.out


def test_quiet_apply_prints_no_retry_lines(
    proxy: FaultProxy, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    path = write(tmp_path, entry(tiny))
    proxy.fail("/api/tags", 500)
    proxy.fail("/api/pull", 500)
    result = run_cli("--host", proxy.url, "--quiet", "apply", str(path))
    assert proxy.faults.seen["/api/pull"] == 2  # it was retried, and said nothing
    assert (result.code, result.out, result.err) == (0, "apply: 1 done\n", "")


def test_a_plain_http_base_gets_a_hint(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    path = write(tmp_path, f"  - name: bot\n    from: {tiny}\n    system: Be brief.\n")
    result = run_cli("--host", ollama.url, "apply", str(path))
    assert result.code == 1
    # the plan's check of the base meets it first, and says where to set insecure
    failed = next(x for x in result.out.splitlines() if x.startswith(f"  FAILED check {tiny}"))
    assert f"registry {registry.host} speaks plain http, not https: set insecure: true" in failed
    assert failed.endswith(
        f"set insecure: true on bot:latest (its base), or declare {tiny} with insecure: true"
    )


def test_the_first_line_names_the_server_and_where_it_came_from(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    path = write(tmp_path, entry(registry.name("library/tiny")))
    for args, env, source in (
        (("--host", ollama.url), {}, "from --host"),
        ((), {"OLLAMA_HOST": ollama.url}, "from OLLAMA_HOST"),
    ):
        for command in ("plan", "drift", "status", "warm"):
            out = run_cli(*args, command, str(path), env=env).out
            assert out.splitlines()[0].startswith(
                f"server {ollama.url} (ollama {ollama.version}; {source})"
            ), (command, out)
        exported = run_cli(*args, "export", env=env)  # stdout is the manifest: stderr says
        assert exported.err.splitlines()[0] == (
            f"server {ollama.url} (ollama {ollama.version}; {source})"
        ), exported.err
    in_manifest = write(tmp_path, entry("x"), "hosted.yaml")
    in_manifest.write_text(f"server:\n  host: {ollama.url}\n" + in_manifest.read_text())
    out = run_cli("plan", str(in_manifest), env={"OLLAMA_HOST": ""}).out
    assert "; from the manifest's server.host)" in out.splitlines()[0]


def test_host_notes_are_said_on_stderr_and_in_the_json_document(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    port = ollama.url.rpartition(":")[2]
    listen = run_cli("-o", "json", "status", env={"OLLAMA_HOST": f"0.0.0.0:{port}"})
    assert listen.code == 0, listen.err
    assert json.loads(listen.out)["notes"] == [
        "0.0.0.0 is a listen address; connecting to 127.0.0.1 instead"
    ]
    path = write(tmp_path, entry(registry.name("library/tiny")))
    path.write_text(f"server:\n  host: {ollama.url}\n" + path.read_text())
    unused = run_cli("plan", str(path), env={"OLLAMA_HOST": "elsewhere:1"})
    assert unused.code == 0, unused.err
    assert unused.err.splitlines() == [
        "note: OLLAMA_HOST=elsewhere:1 not used: the manifest's server.host comes first"
    ]


def test_a_closed_pipe_ends_quietly(ollama: OllamaServer, tmp_path: Path) -> None:
    # 3,000 declared, missing models: far more status lines than a pipe buffer holds.
    path = write(tmp_path, "".join(f"  - name: model-{i:04d}\n" for i in range(3000)))
    command = f"{sys.executable} -m provisioner --host {ollama.url} status {path} | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"server {ollama.url}") and done.stderr == ""


# -- flags and input ------------------------------------------------------------------------


def test_flags_and_input(ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    path = write(tmp_path, entry(tiny) + entry(embed))
    url = ollama.url

    def cli(*args: str, stdin: str | None = None) -> Run:
        if stdin is None:
            return run_cli(*args, cwd=tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "provisioner", *args],
            input=stdin,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    after = cli("drift", "-o", "json", "--host", url, "models.yaml")
    assert after.code == 3 and json.loads(after.out)["kind"] == "drift"
    default_file = cli("--host", url, "plan")
    assert default_file.code == 0 and f"+ pull   {tiny}" in default_file.out
    from_stdin = cli("--host", url, "plan", "-", stdin=path.read_text())
    assert from_stdin.code == 0 and f"+ pull   {embed}" in from_stdin.out
    bad_stdin = cli("validate", "-", stdin="version: 1\nmodels: [{name: a, warn: 1}]\n")
    assert bad_stdin.code == 2 and bad_stdin.err.startswith("<stdin>:2:")
    targeted = cli("--host", url, "apply", "--target", tiny, "-q")
    assert (targeted.code, targeted.out) == (0, "apply: 1 done\n")
    assert set(ollama.tags()) == {tiny}
    quiet = cli("--host", url, "apply", "-q")
    assert (quiet.code, quiet.out) == (0, "apply: 1 done\n")
    again = cli("--host", url, "apply", "-q")
    assert (again.code, again.out) == (
        0,
        "in sync: 2 model(s) declared and present, nothing to do\n",
    )
    unknown = cli("--host", url, "plan", "--target", "nosuch")
    assert unknown.code == 2 and "--target nosuch: not declared in models.yaml" in unknown.err
    stall = cli("--host", url, "apply", "--stall-timeout", "2m", "--dry-run")
    assert stall.code == 0
    bad_stall = cli("apply", "--stall-timeout", "2 weeks")
    assert bad_stall.code == 2 and "--stall-timeout" in bad_stall.err
    secret = write(tmp_path, entry("x"), "secret.yaml")
    secret.write_text(
        "version: 1\nserver:\n  headers:\n    Authorization: Bearer ${NOT_SET_HERE}\n"
        + secret.read_text().removeprefix("version: 1\n")
    )
    strict = cli("validate", "secret.yaml")
    assert strict.code == 2 and "NOT_SET_HERE is not set" in strict.err
    lenient = cli("validate", "--allow-unset", "secret.yaml")
    assert lenient.code == 0
    assert "warning: environment variable NOT_SET_HERE is not set (allowed by --allow-unset)" in (
        lenient.err
    )


# -- output ---------------------------------------------------------------------------------


def test_status_and_warm_show_memory_and_relative_expiry(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny = registry.name("library/tiny")
    path = write(tmp_path, entry(tiny, "    warm: true\n    keep_alive: 10m\n"))
    first = run_cli("--host", ollama.url, "apply", str(path))
    assert first.code == 0 and f"  ok     warm {tiny} (loaded in " in first.out
    assert ", expires in 9m)" in first.out or ", expires in 10m)" in first.out
    warm = run_cli("--host", ollama.url, "warm", str(path))
    assert f"  ok     warm {tiny} (already loaded, expiry refreshed, expires in " in warm.out
    status = run_cli("--host", ollama.url, "status", str(path))
    row = next(x for x in status.out.splitlines() if x.startswith(tiny))
    assert re.search(r" \d+\.\d [KMG]B cpu, expires in \d+m ", row), row
    assert row.endswith("in sync")
