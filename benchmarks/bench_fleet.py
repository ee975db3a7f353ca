"""A fleet apply vs the shell loop people write: the demo manifest onto 8 fresh servers.

Starts the real test bed (registry filled with the tiny models, 8 Ollama v0.11.4
servers), then times, side by side in one run, each from empty servers:
  A) ollama-provision apply examples/demo.yaml --inventory fleet.yaml --fleet-parallel 8
  B) for h in $HOSTS; do OLLAMA_HOST=$h ollama-provision apply examples/demo.yaml; done
Every run starts from servers holding nothing (each model deleted, so its blobs
are pruned and pulled again). BENCH_RUNS (default 3) runs of each; best and median.
Run: .venv/bin/python -m benchmarks.bench_fleet
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path

import httpx

from benchmarks.timing import Timing, ollama_provision, table, time_command
from tests.testbed.build import PINNED
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import start_registry
from tests.testbed.seed import fill_registry

SERVERS = int(os.environ.get("BENCH_SERVERS", "8"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"


def empty(servers: list[OllamaServer]) -> None:
    for server in servers:
        for model in httpx.get(f"{server.url}/api/tags", timeout=30).json().get("models") or []:
            httpx.request(
                "DELETE", f"{server.url}/api/delete", json={"model": model["name"]}, timeout=30
            )


def timed_from_empty(
    label: str, cmd: list[str], env: dict[str, str], servers: list[OllamaServer]
) -> Timing:
    times: list[float] = []
    output = ""
    for _ in range(RUNS):
        empty(servers)
        run = time_command(label, cmd, env, runs=1, warmup=0)
        times.append(run.times[0])
        output = run.output
        held = [len(httpx.get(f"{s.url}/api/tags").json()["models"] or []) for s in servers]
        assert held == [3] * len(servers), (label, held, output[-2000:])
    return Timing(label, tuple(times), output)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    registry = start_registry(work / "registry")
    seed = start_server(PINNED, work / "seed")
    servers: list[OllamaServer] = []
    try:
        fill_registry(seed, registry.host)
        servers = [start_server(PINNED, work / f"server-{i}") for i in range(SERVERS)]
        inventory = work / "fleet.yaml"
        inventory.write_text(
            "servers:\n"
            + "".join(f"  - {{name: s{i}, host: '{s.url}'}}\n" for i, s in enumerate(servers))
        )
        env = {**os.environ, "DEMO_REGISTRY": registry.host}
        tool = ollama_provision()
        fleet_cmd = [
            *tool, "apply", str(DEMO), "--inventory", str(inventory),
            "--fleet-parallel", str(SERVERS),
        ]  # fmt: skip
        hosts = " ".join(s.url for s in servers)
        loop = (
            f"for h in {hosts}; do OLLAMA_HOST=$h {shlex.join(tool)} apply {shlex.quote(str(DEMO))}"
            " || exit 1; done"
        )
        fleet = timed_from_empty(
            f"A) apply --inventory ({SERVERS} servers, --fleet-parallel {SERVERS})",
            fleet_cmd, env, servers,
        )  # fmt: skip
        shell = timed_from_empty(
            f"B) shell loop: {SERVERS} x apply", ["bash", "-c", loop], env, servers
        )
        print(f"{DEMO.name} (3 tiny models) onto {SERVERS} fresh Ollama {PINNED} servers")
        print(table([fleet, shell], against=fleet))
    finally:
        for server in [*servers, seed]:
            server.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
