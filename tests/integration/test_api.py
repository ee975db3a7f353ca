"""The Python API: load, plan, apply, drift, against a real server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import provisioner
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer


def test_scripted_provisioning(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    tiny, embed = registry.name("library/tiny"), registry.name("library/tiny-embed")
    path = tmp_path / "models.yaml"
    path.write_text(
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n"
        f"  - name: {embed}\n    state: absent\n"
    )
    ollama.cli("pull", "--insecure", embed)
    ollama.cli("cp", embed, "undeclared")
    manifest = provisioner.load(path)
    planned = provisioner.plan(manifest, host=ollama.url)
    assert [(a.kind, a.model.display) for a in planned.actions] == [
        ("pull", tiny),
        ("delete", embed),
    ]
    assert [d.kind for d in provisioner.drift(manifest, host=ollama.url)] == [
        "missing",
        "unwanted",
        "extra",
    ]
    # Pruning deletes what the manifest does not name: refused unless allowed.
    with pytest.raises(provisioner.ProvisionError, match="allow_deletions"):
        provisioner.apply(manifest, host=ollama.url, prune=True)
    assert set(ollama.tags()) == {embed, "undeclared:latest"}
    # `state: absent` is the manifest's own instruction: no consent needed.
    results = provisioner.apply(manifest, host=ollama.url)
    assert [(r.kind, r.outcome) for r in results] == [("pull", "done"), ("delete", "done")]
    assert [d.kind for d in provisioner.drift(manifest, host=ollama.url)] == ["extra"]
    results = provisioner.apply(manifest, host=ollama.url, prune=True, allow_deletions=True)
    assert [(r.kind, r.model.display, r.outcome) for r in results] == [
        ("delete", "undeclared:latest", "done")
    ]
    assert provisioner.drift(manifest, host=ollama.url) == ()


def test_bad_manifest_raises_with_positions(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nmodels:\n  - name: a/b/c/d\n")
    with pytest.raises(provisioner.ManifestError) as err:
        provisioner.load(path)
    assert err.value.problems[0].position.line == 3


def test_a_server_that_is_down_names_the_host_argument(tmp_path: Path) -> None:
    manifest = provisioner.loads({"version": 1, "models": [{"name": "tiny"}]}, source="<test>")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(provisioner.ConnectionFailed) as caught:
        provisioner.plan(manifest, host=f"http://127.0.0.1:{port}")
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "check the host argument" in str(caught.value)
    assert "--host" not in str(caught.value)  # a script has no command line
