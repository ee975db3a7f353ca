"""A configured header value never reaches any output or written file, also when a
proxy in front of the server echoes it back (tests/testbed/rewriteproxy.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.rewriteproxy import RewriteProxy

SECRET = "tok-5ecret-value-0451"


@pytest.fixture
def proxy(ollama: OllamaServer) -> Iterator[RewriteProxy]:
    p = RewriteProxy(ollama.url).start()
    yield p
    p.stop()


@pytest.mark.parametrize("echoed", ["/api/version", "/api/tags", "/api/pull"])
def test_an_echoed_header_is_masked_in_every_command_output_and_file(
    proxy: RewriteProxy, registry: FilledRegistry, tmp_path: Path, echoed: str
) -> None:
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nserver:\n  headers:\n    Authorization: Bearer ${TOKEN}\n"
        f"models:\n  - name: {registry.name('library/tiny')}\n    insecure: true\n"
        "    warm: true\n"
    )
    summary = tmp_path / "summary.md"
    env = {"TOKEN": SECRET, "GITHUB_STEP_SUMMARY": str(summary)}
    proxy.rewrite(echoed, "echo_auth")
    seen = []
    for command in ("plan", "apply", "drift", "status", "warm"):
        for output in ("text", "json"):
            result = run_cli("--host", proxy.url, "-o", output, command, str(manifest), env=env)
            seen.append((command, output, result.code))
            assert SECRET not in result.out + result.err, (command, output)
            assert "Traceback" not in result.err
            if result.code == 1 and echoed != "/api/pull":
                assert "bad credentials ***" in result.out + result.err, (command, output)
    assert proxy.rewritten[echoed] > 0  # the proxy did echo it
    assert any(code == 1 for _, _, code in seen)
    for written in tmp_path.iterdir():
        if written.is_file() and written != manifest:
            assert SECRET not in written.read_text(errors="replace"), written


@pytest.mark.parametrize("echoed", [None, "/api/tags"])
def test_every_other_command_and_format_and_the_cache_keep_the_header_hidden(
    proxy: RewriteProxy, registry: FilledRegistry, tmp_path: Path, echoed: str | None
) -> None:
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nserver:\n  headers:\n    Authorization: Bearer ${TOKEN}\n"
        f"models:\n  - name: {registry.name('library/tiny')}\n    insecure: true\n"
    )
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        f"servers:\n  - name: gpu-1\n    host: {proxy.url}\n"
        "    headers: {Authorization: 'Bearer ${TOKEN}'}\n"
    )
    cache = tmp_path / "cache"
    env = {
        "TOKEN": SECRET,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "OLLAMA_PROVISION_CACHE": str(cache),
    }
    if echoed is not None:
        proxy.rewrite(echoed, "echo_auth")
    host = ("--host", proxy.url)
    runs = [
        ("validate", str(manifest)),
        ("--inventory", str(inventory), "apply", str(manifest)),
        ("--inventory", str(inventory), "-o", "json", "plan", str(manifest)),
        (*host, "lock", str(manifest)),
        (*host, "-o", "markdown", "status", str(manifest)),
        (*host, "-o", "openmetrics", "drift", str(manifest)),
        (*host, "apply", str(manifest)),
        (*host, "apply", str(manifest)),
        # export takes no headers (nor --inventory): it can only show what others cached
        (*host, "export", "-f", str(tmp_path / "exported.yaml")),
    ]
    codes = []
    for args in runs:
        result = run_cli(*args, env=env)
        codes.append(result.code)
        assert SECRET not in result.out + result.err, args
        assert "Traceback" not in result.err, args
    if echoed is None:
        assert codes == [0] * len(runs), codes
        assert (tmp_path / "models.lock.json").is_file() and (tmp_path / "exported.yaml").is_file()
    else:
        assert proxy.rewritten[echoed] > 0 and 1 in codes
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(cache) for p in written)  # the cache was used: grep it too
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
