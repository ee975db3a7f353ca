"""No-op apply of a 200-model manifest vs the shell loop people write today.

Starts the real test bed (registry + Ollama v0.11.4), pushes 200 tags into
the registry, gives the server all 200, then times, side by side in one run:
  A) ollama-provision apply models.yaml          (everything already present)
  B) for m in ...; do ollama pull --insecure $m; done
and counts the requests each made to Ollama (its Gin log) and to the registry
(nginx + registry access logs). Run: .venv/bin/python -m benchmarks.bench_noop_apply
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import SeedModel, push_model

COUNT = int(os.environ.get("BENCH_MODELS", "200"))


def registry_requests(reg: Registry) -> int:
    log = reg.workdir / "registry.log"
    return sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if '"GET /v2/' in line or '"HEAD /v2/' in line
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-noop-"))
    reg = start_registry(work / "registry")
    seed = start_server("0.11.4", work / "seed")
    server: OllamaServer | None = None
    try:
        first = push_model(seed, reg.host, SeedModel("bench/tiny", "t000", "completion", 0))
        names = [first]
        for i in range(1, COUNT):
            name = f"{reg.host}/bench/tiny:t{i:03d}"
            seed.cli("cp", first, name)
            seed.cli("push", "--insecure", name)
            names.append(name)
        server = start_server("0.11.4", work / "server")
        server.cli("pull", "--insecure", first)
        for name in names[1:]:
            server.cli("cp", first, name)
        manifest = work / "models.yaml"
        manifest.write_text(
            "version: 1\nmodels:\n" + "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
        )
        env = {**os.environ, "OLLAMA_HOST": server.url}

        rows = []
        for label, run in (
            (
                "ollama-provision apply (no-op)",
                lambda: subprocess.run(
                    [sys.executable, "-m", "provisioner", "apply", str(manifest)],
                    env=env,
                    capture_output=True,
                    check=True,
                ),
            ),
            (
                "shell loop of `ollama pull`",
                lambda: [
                    subprocess.run(
                        [str(server.binary), "pull", "--insecure", n],  # type: ignore[union-attr]
                        env=env,
                        capture_output=True,
                        check=True,
                    )
                    for n in names
                ],
            ),
        ):
            time.sleep(0.3)
            before_o, before_r = len(server.requests()), registry_requests(reg)
            started = time.monotonic()
            run()
            seconds = time.monotonic() - started
            time.sleep(0.3)
            rows.append(
                (
                    label,
                    seconds,
                    len(server.requests()) - before_o,
                    registry_requests(reg) - before_r,
                )
            )

        print(f"\nno-op over {COUNT} models present on Ollama {server.version}")
        print(f"{'':34} {'seconds':>8} {'ollama req':>11} {'registry req':>13}")
        for label, seconds, o, r in rows:
            print(f"{label:34} {seconds:8.2f} {o:11d} {r:13d}")
    finally:
        for s in (seed, server):
            if s is not None:
                s.stop()
        reg.stop()


if __name__ == "__main__":
    main()
