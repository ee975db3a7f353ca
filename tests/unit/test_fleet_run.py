"""reconcile/fleet.py: servers run at once up to the bound, each failing alone, each with
its own headers, timeout, address and labels."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from provisioner.fleet.inventory import Server
from provisioner.manifest.load import load_manifest_text
from provisioner.reconcile.core import Settings
from provisioner.reconcile.fleet import run_fleet, server_manifest, server_settings

SERVERS = tuple(Server(name=f"s{i}", host=f"http://10.0.0.{i}:11434") for i in range(6))


def test_servers_run_at_once_up_to_the_bound() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    # Three jobs that wait for each other: they finish only if three run at once.
    barrier = threading.Barrier(3, timeout=10)

    def job(server: Server, note: object) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        barrier.wait()
        time.sleep(0.05)
        with lock:
            running -= 1
        return server.name

    runs = run_fleet(SERVERS, job, parallel=3)
    assert [r.value for r in runs] == [s.name for s in SERVERS]  # in the servers' order
    assert all(r.error is None for r in runs)
    assert most == 3  # never more than --fleet-parallel


def test_one_at_a_time_when_the_bound_is_one() -> None:
    order: list[str] = []

    def job(server: Server, note: object) -> None:
        order.append(f"start {server.name}")
        time.sleep(0.01)
        order.append(f"end {server.name}")

    run_fleet(SERVERS[:3], job, parallel=1)
    assert order == ["start s0", "end s0", "start s1", "end s1", "start s2", "end s2"]


def test_a_failing_server_fails_alone_and_keeps_its_notes() -> None:
    def job(server: Server, note: object) -> str:
        assert callable(note)
        note(f"asked {server.name}")
        if server.name == "s1":
            raise ConnectionError("down")
        return "ok"

    done: list[str] = []
    runs = run_fleet(SERVERS[:3], job, on_done=lambda r: done.append(r.server.name))
    assert [(r.value, type(r.error).__name__ if r.error else None) for r in runs] == [
        ("ok", None),
        (None, "ConnectionError"),
        ("ok", None),
    ]
    assert runs[1].notes == ("asked s1",)
    assert sorted(done) == ["s0", "s1", "s2"]


@pytest.mark.parametrize(("inventory_timeout", "expected"), [(None, 30.0), (5.0, 5.0)])
def test_each_server_gets_its_headers_timeout_address_and_labels(
    inventory_timeout: float | None, expected: float
) -> None:
    manifest = load_manifest_text(
        "version: 1\nserver:\n  host: http://ignored:1\n  timeout: 30s\n"
        "  headers: {X-Team: ml, Authorization: Bearer manifest}\n"
        "models:\n  - name: tiny\n",
        Path("models.yaml"),
    )
    server = Server(
        name="gpu-1",
        host="http://gpu-1:11434",
        labels={"gpu": "a100", "zone": "eu"},
        headers={"Authorization": "Bearer gpu-1"},
        timeout=inventory_timeout,
        origin="the host of 'gpu-1' in fleet.yaml",
    )
    aimed = server_manifest(manifest, server)
    assert aimed.server.host is None  # the inventory's address, never the manifest's
    assert dict(aimed.server.headers) == {"X-Team": "ml", "Authorization": "Bearer gpu-1"}
    assert aimed.server.timeout == expected
    settings = server_settings(Settings(host="http://other:1", parallel=3), server)
    assert settings.host == "http://gpu-1:11434"
    assert settings.labels == (("gpu", "a100"), ("zone", "eu"))
    assert settings.host_source == "the host of 'gpu-1' in fleet.yaml"
    assert settings.parallel == 3  # the rest of the run's settings stay
