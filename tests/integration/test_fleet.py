"""Fleets against real servers: one inventory, three Ollama servers (v0.11.4 and
v0.34.4 mixed), label-selected models, one server stopped."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as prometheus_families

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.build import NEWEST, PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.tiny_models import write_completion_model

OUTPUT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas/output.schema.json").read_text()
)
MUTATING = {"/api/pull", "/api/create", "/api/copy", "/api/delete"}
NAMES = ("gpu-1", "cpu-1", "gpu-2")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, OllamaServer]]:
    versions = (PINNED, NEWEST, NEWEST)
    servers = {n: start_server(v, tmp_path / n) for n, v in zip(NAMES, versions, strict=True)}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def write_files(tmp_path: Path, registry: FilledRegistry, servers: dict[str, OllamaServer]) -> Path:
    (tmp_path / "fleet.yaml").write_text(
        "servers:\n"
        f"  - {{name: gpu-1, host: '{servers['gpu-1'].url}', labels: {{gpu: true}}}}\n"
        f"  - {{name: cpu-1, host: '{servers['cpu-1'].url}'}}\n"
        f"  - name: gpu-2\n    host: {servers['gpu-2'].url}\n"
        "    labels: {gpu: 'true', zone: eu}\n"
    )
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\ndefaults: {insecure: true}\nmodels:\n"
        f"  - name: {registry.name('library/tiny')}\n"
        f"  - name: {registry.name('library/tiny-embed')}\n    selector: {{gpu: true}}\n"
        f"  - name: {registry.name('team/tiny', 'v1')}\n    selector: {{zone: [eu, us]}}\n"
    )
    return manifest


def fleet_cli(tmp_path: Path, *args: str) -> Run:
    return run_cli(
        *args, str(tmp_path / "models.yaml"), "--inventory", str(tmp_path / "fleet.yaml")
    )


def expected(registry: FilledRegistry) -> dict[str, set[str]]:
    tiny, embed, team = (
        registry.name(*r) for r in (("library/tiny",), ("library/tiny-embed",), ("team/tiny", "v1"))
    )
    return {"gpu-1": {tiny, embed}, "cpu-1": {tiny}, "gpu-2": {tiny, embed, team}}


def mutations(server: OllamaServer, since: int) -> list[str]:
    return [p for _, m, p in server.settled_requests()[since:] if m != "GET" and p in MUTATING]


def test_apply_converges_each_server_to_its_labels_and_a_rerun_is_a_no_op(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    write_files(tmp_path, registry, fleet)
    first = fleet_cli(tmp_path, "apply")
    assert first.code == 0, first.out + first.err
    for name, server in fleet.items():
        assert set(server.tags()) == expected(registry)[name], name
    # a section per server, then one summary row per server
    assert [line for line in first.out.splitlines() if line.startswith("== ")] != []
    summary = first.out.splitlines()[-5:]
    assert summary[0].split() == ["SERVER", "VERSION", "RESULT", "ACTIONS", "TIME", "ERROR"]
    rows = {line.split()[0]: line.split() for line in summary[1:4]}
    assert {n: rows[n][1:4] for n in NAMES} == {
        "gpu-1": [PINNED, "changed", "2"], "cpu-1": [NEWEST, "changed", "1"],
        "gpu-2": [NEWEST, "changed", "3"],
    }  # fmt: skip
    assert re.fullmatch(r"fleet: 3 server\(s\): 3 changed \(\d+\.\ds\)", summary[4])
    assert "1 model(s) are for other servers" in first.out  # gpu-1 lacks zone

    before = {n: len(s.settled_requests()) for n, s in fleet.items()}
    second = fleet_cli(tmp_path, "apply")
    assert second.code == 0, second.out + second.err
    for name, server in fleet.items():
        asked = [(m, p) for _, m, p in server.settled_requests()[before[name] :]]
        # the no-op apply is one or two requests per server, none of them a change
        assert 1 <= len(asked) <= 2, (name, asked)
        assert mutations(server, before[name]) == []
    assert re.search(r"fleet: 3 server\(s\): 3 in sync", second.out)

    drift = fleet_cli(tmp_path, "drift")
    assert drift.code == 0, drift.out + drift.err


def test_one_server_down_fails_only_that_server_and_the_exit_code_says_so(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    write_files(tmp_path, registry, fleet)
    fleet["cpu-1"].stop()
    applied = fleet_cli(tmp_path, "--output", "json", "apply")
    assert applied.code == 1, applied.out + applied.err
    doc = json.loads(applied.out)
    jsonschema.validate(doc, OUTPUT_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert doc["kind"] == "fleet" and doc["command"] == "apply" and doc["exit_code"] == 1
    by_name = {s["name"]: s for s in doc["servers"]}
    assert by_name["cpu-1"]["result"] == "failed"
    assert by_name["cpu-1"]["document"]["kind"] == "error"
    assert "cannot connect" in by_name["cpu-1"]["error"]
    assert "fleet.yaml" in by_name["cpu-1"]["error"]  # the hint names where the address is
    for name in ("gpu-1", "gpu-2"):
        assert by_name[name]["result"] == "changed"
        assert by_name[name]["document"]["kind"] == "apply"
        assert set(fleet[name].tags()) == expected(registry)[name]
    # stderr names the failed server, one line
    failed = [line for line in applied.err.splitlines() if line.startswith("error:")]
    assert len(failed) == 1 and failed[0].startswith("error: server 'cpu-1': cannot connect")

    text = fleet_cli(tmp_path, "drift")
    assert text.code == 1  # a server that cannot be checked outweighs drift (3)


def test_drift_exits_3_and_openmetrics_parse_with_prometheus_client(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    write_files(tmp_path, registry, fleet)
    assert fleet_cli(tmp_path, "apply").code == 0
    fleet["gpu-2"].cli("rm", registry.name("team/tiny", "v1"))
    drift = fleet_cli(tmp_path, "drift")
    assert drift.code == 3, drift.out + drift.err
    plan = fleet_cli(tmp_path, "plan", "--exit-code")
    assert plan.code == 3
    assert fleet_cli(tmp_path, "plan").code == 0  # without --exit-code changes are not an error

    fleet["cpu-1"].stop()
    metrics = fleet_cli(tmp_path, "drift", "--output", "openmetrics")
    assert metrics.code == 1, metrics.err  # one server down
    assert metrics.out.endswith("# EOF\n")
    for parse in (openmetrics_families, prometheus_families):
        samples = {}
        for family in parse(metrics.out):
            for s in family.samples:
                samples[(s.name, s.labels.get("server"), s.labels.get("kind"))] = s.value
        assert samples[("ollama_provision_up", "gpu-1", None)] == 1
        assert samples[("ollama_provision_up", "cpu-1", None)] == 0
        assert samples[("ollama_provision_drift", "gpu-2", "missing")] == 1
        assert samples[("ollama_provision_drift", "gpu-1", "missing")] == 0
        assert samples[("ollama_provision_models_declared", "gpu-2", None)] == 3
        assert samples[("ollama_provision_models_present", "gpu-2", None)] == 2
        assert ("ollama_provision_drift", "cpu-1", "missing") not in samples  # unknown, not 0
        assert samples[("ollama_provision_last_check_timestamp_seconds", "gpu-1", None)] > 1e9


def test_status_matrix_in_text_json_and_markdown(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    write_files(tmp_path, registry, fleet)
    assert fleet_cli(tmp_path, "apply").code == 0
    tiny, embed, team = (
        registry.name(*r) for r in (("library/tiny",), ("library/tiny-embed",), ("team/tiny", "v1"))
    )
    fleet["gpu-1"].cli("rm", embed)
    fleet["gpu-1"].cli("run", tiny, "hi", check=False)  # loaded: memory and expiry shown

    text = fleet_cli(tmp_path, "status")
    assert text.code == 0, text.err
    rows = {line.split()[0]: line for line in text.out.splitlines() if line.split()}
    assert rows["MODEL"].split() == ["MODEL", *NAMES]
    assert re.search(r"present, loaded .* expires", rows[tiny])
    assert rows[embed].split()[1:] == ["missing", "-", "present"]
    assert rows[team].split()[1:] == ["-", "-", "present"]

    doc = json.loads(fleet_cli(tmp_path, "-o", "json", "status").out)
    jsonschema.validate(doc, OUTPUT_SCHEMA, cls=jsonschema.Draft202012Validator)
    cells = {m["model"]: m["on"] for m in doc["matrix"]["models"]}
    assert cells[embed]["gpu-1"]["state"] == "missing"
    assert cells[embed]["cpu-1"]["state"] == "not declared here"
    assert cells[tiny]["gpu-1"]["loaded"] is True and cells[tiny]["gpu-1"]["size"] > 0

    md = fleet_cli(tmp_path, "-o", "markdown", "status").out
    assert f"| model | gpu-1 (ollama {PINNED}) | cpu-1 (ollama {NEWEST}) |" in md
    assert f"| `{embed}` | missing | - | present |" in md


def test_repeated_host_is_a_fleet_and_single_server_commands_refuse_it(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    write_files(tmp_path, registry, fleet)
    hosts = [a for s in fleet.values() for a in ("--host", s.url)]
    run = run_cli(*hosts, "apply", str(tmp_path / "models.yaml"), "--fleet-parallel", "1")
    assert run.code == 0, run.out + run.err
    # --host servers have no labels: only the model without a selector goes on them
    for server in fleet.values():
        assert set(server.tags()) == {registry.name("library/tiny")}
    refused = run_cli(*hosts, "lock", str(tmp_path / "models.yaml"))
    assert refused.code == 2
    assert refused.err.strip().splitlines() == [
        "error: lock works on one server; --inventory and repeated --host are for plan, "
        "apply, drift, status and warm"
    ]
    layout = tmp_path / "layout"
    mirror = run_cli(*hosts, "mirror", str(tmp_path / "models.yaml"), "--to", f"oci:{layout}")
    assert mirror.code == 2 and not layout.exists()
    assert mirror.err.startswith("error: mirror works on one server;")


def test_pruning_in_a_fleet_needs_yes_and_never_takes_what_is_meant_elsewhere(
    tmp_path: Path, registry: FilledRegistry, fleet: dict[str, OllamaServer]
) -> None:
    manifest = write_files(tmp_path, registry, fleet)
    assert fleet_cli(tmp_path, "apply").code == 0
    manifest.write_text(manifest.read_text() + "prune: {enabled: true}\n")
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    stray = registry.name("library/tiny", "v2")
    for server in fleet.values():
        server.cli("pull", "--insecure", stray)
    refused = fleet_cli(tmp_path, "apply")
    assert refused.code == 1
    assert "rerun with --yes" in refused.err
    assert all(stray in s.tags() for s in fleet.values())  # nothing deleted anywhere
    allowed = fleet_cli(tmp_path, "apply", "--yes")
    assert allowed.code == 0, allowed.out + allowed.err
    for name, server in fleet.items():
        assert set(server.tags()) == expected(registry)[name]  # the stray is gone
    # cpu-1 is not a gpu server, but the gpu model on it is declared elsewhere: kept
    fleet["cpu-1"].cli("pull", "--insecure", embed)
    kept = fleet_cli(tmp_path, "apply", "--yes")
    assert kept.code == 0
    assert set(fleet["cpu-1"].tags()) == {tiny, embed}


def test_warm_loads_on_every_server_and_one_down_fails_alone(tmp_path: Path) -> None:
    # Two servers that can run models (v0.34.4 here cannot: no runner in a Go-only build).
    servers = [start_server(PINNED, tmp_path / f"warm-{i}") for i in range(2)]
    try:
        model = "warm-tiny"
        weights = tmp_path / "tiny.gguf"
        write_completion_model(weights)
        for server in servers:
            (tmp_path / "Modelfile").write_text(f"FROM {weights}\n")
            server.cli("create", model, "-f", str(tmp_path / "Modelfile"))
        manifest = tmp_path / "models.yaml"
        manifest.write_text(f"version: 1\nmodels:\n  - name: {model}\n    warm: true\n")
        hosts = [a for s in servers for a in ("--host", s.url)]
        run = run_cli(*hosts, "warm", str(manifest), "-o", "json")
        assert run.code == 0, run.out + run.err
        doc = json.loads(run.out)
        jsonschema.validate(doc, OUTPUT_SCHEMA)
        assert [s["result"] for s in doc["servers"]] == ["warmed", "warmed"]
        for server in servers:
            loaded = httpx.get(f"{server.url}/api/ps").json()["models"]
            assert [m["name"] for m in loaded] == [f"{model}:latest"]

        servers[1].stop()
        down = run_cli(*hosts, "warm", str(manifest))
        assert down.code == 1
        assert re.search(r"server '127\.0\.0\.1:\d+': cannot connect", down.err), down.err
        assert f"warm {model}:latest" in down.out  # the other one still answered
    finally:
        for server in servers:
            server.stop()


def test_the_dashboard_shows_a_tag_that_moved_upstream_as_outdated(
    tmp_path: Path, registry: FilledRegistry, ollama: OllamaServer
) -> None:
    repository = f"dash/tiny-{tmp_path.name[-6:].lower()}"
    name = registry.push(repository, "latest", seed=7)
    ollama.cli("pull", "--insecure", name)
    registry.push(repository, "latest", seed=8)  # the tag moves at the registry
    manifest = tmp_path / "models.yaml"
    manifest.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
    server = re.escape(ollama.url.split("://", 1)[1])

    plain = run_cli("--host", ollama.url, "status", str(manifest), "-o", "markdown")
    assert plain.code == 0, plain.err
    assert re.search(rf"\| `{re.escape(name)}` \| present \|", plain.out), plain.out
    checked = run_cli(
        "--host", ollama.url, "status", str(manifest), "--check-updates", "-o", "markdown"
    )
    assert checked.code == 0, checked.err
    assert re.search(rf"\| `{re.escape(name)}` \| outdated \|", checked.out), checked.out
    assert re.search(server, checked.out)
    # drift -o openmetrics on one --host also asks that server, not the default one
    metrics = run_cli("--host", ollama.url, "drift", str(manifest), "-o", "openmetrics")
    assert metrics.code == 0, metrics.err
    [up] = [
        sample
        for family in openmetrics_families(metrics.out)  # type: ignore[no-untyped-call]
        for sample in family.samples
        if sample.name.endswith("_up")
    ]
    assert up.value == 1 and up.labels["server"] == ollama.url.split("://", 1)[1]
