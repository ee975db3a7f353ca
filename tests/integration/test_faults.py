"""Transient faults are retried, stalls are cut short, refusals are not retried, Ctrl-C is clean.

Faults come from a proxy in front of a real Ollama server (tests/testbed/faultproxy.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provisioner.errors import BadAnswer, ServerError, Timeout
from provisioner.names import parse_name
from provisioner.server.registry import fetch_manifest
from provisioner.server.retry import NO_RETRY
from tests.integration.cli_runner import run_cli
from tests.testbed.faultproxy import FaultProxy
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.rewriteproxy import RewriteProxy

MANIFEST = "/v2/library/tiny/manifests/latest"  # library/tiny's manifest, on the registry


@pytest.fixture
def proxy(ollama: OllamaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(ollama.url).start()
    yield p
    p.stop()


def _manifest(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
    return path


def test_5xx_and_resets_are_retried(
    proxy: FaultProxy, registry: FilledRegistry, tmp_path: Path
) -> None:
    proxy.fail("/api/tags", 500, 503)
    proxy.reset("/api/version")
    proxy.fail("/api/pull", 502)
    result = run_cli(
        "--host", proxy.url, "apply", str(_manifest(tmp_path, registry.name("library/tiny")))
    )
    assert result.code == 0, result.out + result.err
    assert proxy.faults.seen["/api/tags"] == 3
    assert proxy.faults.seen["/api/version"] == 2
    assert proxy.faults.seen["/api/pull"] == 2


def test_a_refusal_is_not_retried(
    proxy: FaultProxy, registry: FilledRegistry, tmp_path: Path
) -> None:
    proxy.fail("/api/pull", 400)
    name = registry.name("library/tiny")
    result = run_cli("--host", proxy.url, "apply", str(_manifest(tmp_path, name)))
    assert result.code == 1
    assert f"FAILED pull {name}: injected 400" in result.out
    assert proxy.faults.seen["/api/pull"] == 1


def test_a_stalled_pull_is_aborted_and_retried(
    proxy: FaultProxy, registry: FilledRegistry, tmp_path: Path
) -> None:
    proxy.stall("/api/pull", after_lines=1)
    name = registry.name("library/tiny")
    started = time.monotonic()
    result = run_cli(
        "--host", proxy.url, "apply", "--stall-timeout", "1", str(_manifest(tmp_path, name))
    )
    assert result.code == 0, result.out + result.err
    assert proxy.faults.seen["/api/pull"] == 2
    assert f"  {name}: stalled 1s, retrying (2/4)\n" in result.out
    assert time.monotonic() - started < 30


def test_ctrl_c_exits_130_and_a_rerun_converges(
    ollama: OllamaServer, registry: FilledRegistry, large_model: str, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, large_model)
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "--host", ollama.url, "apply", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list((ollama.models_dir / "blobs").glob("*-partial*")):
        assert time.monotonic() < deadline, "the pull never started"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert large_model not in httpx.get(ollama.url + "/api/tags").text
    rerun = run_cli("--host", ollama.url, "apply", str(manifest))
    assert rerun.code == 0, rerun.out + rerun.err
    assert large_model in httpx.get(ollama.url + "/api/tags").text


def test_a_412_from_the_registry_names_both_versions(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    # A proxy in front of the real registry answers the manifest request with 412,
    # as ollama.com does for a model that needs a newer Ollama: twice, since the plan
    # reads the manifest first for the download size (a best effort: unknown size).
    upstream = FaultProxy(f"http://{registry.host}").start()
    try:
        upstream.fail("/v2/library/tiny/manifests/latest", 412, 412)
        name = f"127.0.0.1:{upstream.port}/library/tiny:latest"
        result = run_cli("--host", ollama.url, "apply", str(_manifest(tmp_path, name)))
    finally:
        upstream.stop()
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if "FAILED" in x)
    assert line.startswith(f"  FAILED pull {name}: pull model manifest: 412")
    assert line.endswith("(server runs Ollama 0.11.4); upgrade the server")
    # 4xx: no retry, neither by the size lookup nor by Ollama's pull
    assert upstream.faults.seen["/v2/library/tiny/manifests/latest"] == 2


def test_requires_newer_than_the_server_fails_before_create(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    base = registry.name("library/tiny")
    path = tmp_path / "models.yaml"
    path.write_text(
        f"version: 1\nmodels:\n  - name: {base}\n    insecure: true\n"
        f"  - name: future\n    modelfile: |\n      FROM {base}\n      REQUIRES 99.1.0\n"
    )
    result = run_cli("--host", any_ollama.url, "apply", str(path))
    assert result.code == 1
    assert (
        f"FAILED create future:latest: requires Ollama 99.1.0 but the server runs "
        f"{any_ollama.version}; upgrade the server" in result.out
    )
    time.sleep(0.2)
    assert "/api/create" not in [p for _, _, p in any_ollama.requests()]


def _present_behind(ollama: OllamaServer, registry: FilledRegistry, port: int) -> str:
    """library/tiny on the server under the name a proxy on `port` serves it by (a copy
    of the real registry's pull: same manifest, so in sync with that registry)."""
    name = f"127.0.0.1:{port}/library/tiny:latest"
    ollama.cli("pull", "--insecure", registry.name("library/tiny"))
    ollama.cli("cp", registry.name("library/tiny"), name)
    return name


@pytest.mark.parametrize("mode", ["endless", "drip_head"])
def test_a_registry_answer_is_bounded_in_size_and_time(registry: FilledRegistry, mode: str) -> None:
    # Before the bound, an endless manifest grew fetch_manifest(timeout=2) to 3 GB (the
    # address-space limit of the measurement) in 4.9 s; the audit saw 8 GB.
    proxy = RewriteProxy(f"http://{registry.host}").start()
    try:
        proxy.rewrite(MANIFEST, mode)
        name = parse_name(f"127.0.0.1:{proxy.port}/library/tiny:latest")
        started = time.monotonic()
        with pytest.raises(ServerError) as e:
            fetch_manifest(name, insecure=True, timeout=2, retry=NO_RETRY)
        seconds = time.monotonic() - started
    finally:
        proxy.stop()
    assert seconds < 3.0
    assert e.value.model == name.display
    if mode == "endless":
        assert isinstance(e.value, BadAnswer) and "answered more than 4 MB" in e.value.message
    else:
        assert isinstance(e.value, Timeout) and f"127.0.0.1:{proxy.port}" in e.value.message


def test_an_endless_manifest_fails_that_model_in_one_line(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    proxy = RewriteProxy(f"http://{registry.host}").start()
    try:
        name = _present_behind(ollama, registry, proxy.port)
        proxy.rewrite(MANIFEST, "endless")
        started = time.monotonic()
        result = run_cli(
            "--host", ollama.url, "drift", "--check-updates", str(_manifest(tmp_path, name))
        )
        seconds = time.monotonic() - started
    finally:
        proxy.stop()
    assert result.code == 1, result.out + result.err
    lines = [x for x in (result.out + result.err).splitlines() if "more than 4 MB" in x]
    assert len(lines) == 1 and name in lines[0], result.out + result.err
    assert seconds < 20
    assert proxy.rewritten[MANIFEST] == 1  # a broken answer is not asked again


def test_registry_5xx_is_retried_and_a_registry_that_stays_down_is_exit_1(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    upstream = FaultProxy(f"http://{registry.host}").start()
    try:
        name = _present_behind(ollama, registry, upstream.port)
        manifest = str(_manifest(tmp_path, name))
        upstream.fail(MANIFEST, 500, 500)
        healed = run_cli("--host", ollama.url, "drift", "--check-updates", manifest)
        asked = upstream.faults.seen[MANIFEST]
        upstream.fail(MANIFEST, *[500] * 10)
        down = run_cli("--host", ollama.url, "plan", "--check-updates", "--exit-code", manifest)
    finally:
        upstream.stop()
    assert healed.code == 0, healed.out + healed.err
    assert asked == 3
    assert down.code == 1, down.out + down.err  # never 3 ("changes pending")
    failed = [x for x in (down.out + down.err).splitlines() if "fail" in x]
    assert len(failed) == 1, down.out + down.err
    assert name in failed[0] and "500" in failed[0] and "4 attempts" in failed[0], failed
