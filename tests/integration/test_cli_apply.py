"""`apply` and `plan` end to end: real CLI process, real server, real registry."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MUTATING = {"/api/pull", "/api/create", "/api/copy", "/api/delete", "/api/blobs"}


def _mutations(server: OllamaServer) -> list[str]:
    return [p for _, m, p in server.settled_requests() if m != "GET" and p in MUTATING]


def _env(server: OllamaServer, registry: FilledRegistry) -> dict[str, str]:
    return {"OLLAMA_HOST": server.url, "DEMO_REGISTRY": registry.host}


def test_demo_manifest_converges_then_is_a_no_op(
    any_ollama: OllamaServer, registry: FilledRegistry
) -> None:
    env = _env(any_ollama, registry)
    first = run_cli("apply", str(EXAMPLES / "demo.yaml"), env=env)
    assert first.code == 0, first.err
    assert first.out.count("+ pull") == 3
    assert "apply: 3 done" in first.out
    pulls = _mutations(any_ollama)
    assert pulls == ["/api/pull"] * 3

    before = len(any_ollama.settled_requests())
    second = run_cli("apply", str(EXAMPLES / "demo.yaml"), env=env)
    assert second.code == 0, second.err
    assert "in sync: 3 model(s)" in second.out
    assert any_ollama.settled_requests()[before:] == [
        (200, "GET", "/api/version"),
        (200, "GET", "/api/tags"),
    ]


def _manifest(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "models.yaml"
    entries = "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
    path.write_text(f"version: 1\nmodels:\n{entries}")
    return path


def _hold_only(server: OllamaServer, registry: FilledRegistry, name: str) -> None:
    """Make `name` the only model on the server: pull the registry's tiny, rename it."""
    source = registry.name("library/tiny")
    server.cli("pull", "--insecure", source)
    server.cli("cp", source, name)
    server.cli("rm", source)


def test_a_tag_does_not_satisfy_another_tag(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    _hold_only(any_ollama, registry, "tiny:v2")
    manifest = _manifest(tmp_path, "tiny")
    planned = run_cli("plan", "--exit-code", str(manifest), env={"OLLAMA_HOST": any_ollama.url})
    assert planned.code == 3, planned.err
    assert "+ pull   tiny:latest  (missing)" in planned.out
    assert "1 undeclared model left alone; -v to list" in planned.out
    listed = run_cli("plan", "-v", str(manifest), env={"OLLAMA_HOST": any_ollama.url})
    assert "? extra  tiny:v2" in listed.out


def test_spellings_of_the_same_model_are_in_sync(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    _hold_only(any_ollama, registry, "tiny")
    for spelling in ("TINY:latest", "registry.ollama.ai/library/tiny:latest", "Tiny"):
        manifest = _manifest(tmp_path, spelling)
        planned = run_cli("plan", "--exit-code", str(manifest), env={"OLLAMA_HOST": any_ollama.url})
        assert planned.code == 0, (spelling, planned.out, planned.err)
        assert "in sync: 1 model(s)" in planned.out


def test_partial_failure_names_the_model_and_exits_1(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    good, bad = registry.name("library/tiny"), registry.name("library/nosuch")
    result = run_cli("apply", str(_manifest(tmp_path, good, bad)), env={"OLLAMA_HOST": ollama.url})
    assert result.code == 1
    # the plan's check met it first: the registry's words, before any pull of it
    assert f"FAILED check {bad}: registry {registry.host} has no repository" in result.out
    assert f"ok     pull {good}" in result.out
    assert "Traceback" not in result.out + result.err


def test_unreachable_host_is_one_line_exit_1(tmp_path: Path) -> None:
    from tests.testbed.ports import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("--host", url, "apply", str(_manifest(tmp_path, "tiny")))
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        f"error: cannot connect to {url}: is Ollama running there? (check --host) "
        "(gave up after 4 attempts)"
    ]


def test_malformed_manifest_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nmodels:\n  - name: [tiny\n")
    result = run_cli("--host", "http://127.0.0.1:9", "apply", str(path))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:")
    assert "Traceback" not in result.err
