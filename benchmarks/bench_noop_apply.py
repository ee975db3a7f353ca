"""No-op apply of a 200-model manifest vs the shell loop people write today.

Starts the real test bed (registry + Ollama v0.11.4), pushes 200 tags into
the registry, gives a server all 200, then times, side by side in one run:
  A) ollama-provision apply models.yaml          (everything already present)
  B) for m in ...; do ollama pull --insecure $m; done
and counts the requests each made to Ollama (its Gin log) and to the registry
(nginx + registry access logs). A) runs BENCH_RUNS times (default 3; best and
median), B) once: it is the slow one.

Then the same again with BENCH_DELAY_MS (default 50) added to every answer of
the registry, what a remote registry costs: a delaying pass-through proxy
(tests/testbed/delayproxy.py) fronts the registry's API host, and a second
server holds the 200 models under the proxy's host name, so both the loop's
pulls and our tool go through it (blob bytes still come from nginx, as a real
registry's CDN would serve them). Goal (issue 9): A) at least 30x faster than B).
Run: .venv/bin/python -m benchmarks.bench_noop_apply
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import ollama_provision
from tests.testbed.delayproxy import DelayProxy
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import SeedModel, push_model

COUNT = int(os.environ.get("BENCH_MODELS", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DELAY_MS = float(os.environ.get("BENCH_DELAY_MS", "50"))


def registry_requests(reg: Registry) -> int:
    log = reg.workdir / "registry.log"
    return sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if '"GET /v2/' in line or '"HEAD /v2/' in line
    )


@dataclass(frozen=True)
class Row:
    label: str
    times: tuple[float, ...]
    ollama_requests: int  # of the first run
    registry_requests: int  # of the first run

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return sorted(self.times)[len(self.times) // 2]


def compare(
    server: OllamaServer,
    names: list[str],
    manifest: Path,
    count_registry: Callable[[], int],
) -> list[Row]:
    """A) and B) against one server, each timed, with the requests they caused."""
    env = {
        **os.environ,
        "OLLAMA_HOST": server.url,
        "OLLAMA_PROVISION_CACHE": str(manifest.parent / "cache"),
    }

    def apply() -> None:
        subprocess.run(
            [*ollama_provision(), "apply", str(manifest)],
            env=env,
            capture_output=True,
            check=True,
        )

    def loop() -> None:
        for n in names:
            subprocess.run(
                [str(server.binary), "pull", "--insecure", n],
                env=env,
                capture_output=True,
                check=True,
            )

    apply()  # untimed: the .pyc files and the server's page cache warm up
    rows = []
    for label, run, runs in (
        ("apply (no-op)", apply, RUNS),
        ("shell loop of `ollama pull`", loop, 1),
    ):
        times, ollama_req, registry_req = [], 0, 0
        for i in range(runs):
            time.sleep(0.3)
            before_o, before_r = len(server.settled_requests()), count_registry()
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
            if i == 0:
                ollama_req = len(server.settled_requests()) - before_o
                registry_req = count_registry() - before_r
        rows.append(Row(label, tuple(times), ollama_req, registry_req))
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(
        f"{'':34} {'best s':>8} {'median s':>9} {'runs':>5} {'ollama req':>11} {'registry req':>13}"
    )
    for r in rows:
        print(
            f"{r.label:34} {r.best:8.2f} {r.median:9.2f} {len(r.times):>5} "
            f"{r.ollama_requests:11d} {r.registry_requests:13d}"
        )
    *ours, loop = rows
    for row in ours:
        print(
            f"the loop takes {loop.median / row.median:.0f}x as long as {row.label} "
            f"(median; best: {loop.best / row.best:.0f}x); goal: at least 30x"
        )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-noop-"))
    reg = start_registry(work / "registry")
    seed = start_server("0.11.4", work / "seed")
    servers: list[OllamaServer] = []
    proxy: DelayProxy | None = None
    try:
        first = push_model(seed, reg.host, SeedModel("bench/tiny", "t000", "completion", 0))
        paths = [first.split("/", 1)[1]]  # bench/tiny:t000
        for i in range(1, COUNT):
            name = f"{reg.host}/bench/tiny:t{i:03d}"
            seed.cli("cp", first, name)
            seed.cli("push", "--insecure", name)
            paths.append(name.split("/", 1)[1])

        def server_for(host: str, folder: str) -> tuple[OllamaServer, list[str], Path]:
            """A server holding all COUNT models under `host`; their names; a manifest."""
            server = start_server("0.11.4", work / folder)
            servers.append(server)
            names = [f"{host}/{p}" for p in paths]
            server.cli("pull", "--insecure", names[0])  # through `host`: the real path
            for name in names[1:]:
                server.cli("cp", names[0], name)
            manifest = work / f"{folder}.yaml"
            manifest.write_text(
                "version: 1\nmodels:\n"
                + "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
            )
            return server, names, manifest

        server, names, manifest = server_for(reg.host, "server")
        direct = compare(server, names, manifest, lambda: registry_requests(reg))
        print_rows(f"no-op over {COUNT} models present on Ollama {server.version}", direct)

        delaying = proxy = DelayProxy(f"http://{reg.host}", DELAY_MS / 1000).start()
        slow_server, slow_names, slow_manifest = server_for(delaying.host, "server-delayed")
        delayed = compare(slow_server, slow_names, slow_manifest, lambda: delaying.requests)
        print_rows(
            f"the same, {DELAY_MS:.0f} ms added to every registry answer "
            f"(requests counted at the proxy)",
            delayed,
        )
    finally:
        for s in (seed, *servers):
            s.stop()
        if proxy is not None:
            proxy.stop()
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
