"""Start-up cost: what a command pays before it does anything, side by side.

Starts the test bed (the real registry, and an Ollama v0.11.4 server given the
demo's models by a first `apply examples/demo.yaml`), then times BENCH_RUNS runs
(default 20, after one untimed warm-up) of each pair in turns (a, b, a, b: a slow
moment of the machine costs both alike), best and median:
  python -c pass                              the floor for any Python CLI
  ollama-provision --version                  against that floor
  python -c "import httpx, yaml, click, jsonschema"
                                              the floor for a CLI built on our dependencies
  ollama-provision apply examples/demo.yaml   a no-op (everything present), against it
  ollama list                                 the same server, the same build's CLI
and lists the costliest imports of the no-op apply (`python -X importtime`,
best of 5 runs per module). Goal (issue 17): the no-op apply within 1.2x of the
dependencies' floor.
Run: .venv/bin/python -m benchmarks.bench_startup
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from benchmarks.timing import ollama_provision, table, time_command, time_paired
from tests.testbed.ollama_server import start_server
from tests.testbed.registry import start_registry
from tests.testbed.seed import fill_registry

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
TOP = int(os.environ.get("BENCH_IMPORTS_TOP", "20"))
DEPS = "import httpx, yaml, click, jsonschema"


def import_times(cmd: list[str], env: dict[str, str], runs: int = 5) -> dict[str, tuple[int, int]]:
    """{module: (self us, cumulative us)}, the best of `runs` runs of `python -X importtime`."""
    best: dict[str, tuple[int, int]] = {}
    for _ in range(runs):
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        seen: dict[str, tuple[int, int]] = {}
        for line in result.stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            own, total, name = (part.strip() for part in line[len("import time:") :].split("|"))
            seen[name] = (int(own), int(total))
        for name, (own_us, total_us) in seen.items():
            if name not in best or total_us < best[name][1]:
                best[name] = (own_us, total_us)
    return best


def print_import_offenders(times: dict[str, tuple[int, int]]) -> None:
    total = sum(own for own, _ in times.values())
    by_package: dict[str, int] = defaultdict(int)
    for name, (own, _) in times.items():
        by_package[name.split(".")[0]] += own
    print(f"\nimports of the no-op apply: {len(times)} modules, {total / 1000:.0f} ms in all")
    print("by top-level package (self time summed):")
    for package, own in sorted(by_package.items(), key=lambda kv: -kv[1])[:TOP]:
        print(f"  {own / 1000:>7.1f} ms  {package}")
    print("by module, cumulative (a module and everything it imported first):")
    ranked = sorted(times.items(), key=lambda kv: -kv[1][1])
    shown = [(n, t) for n, t in ranked if n.startswith("provisioner") or "." not in n][:TOP]
    for name, (own, cum) in shown:
        print(f"  {cum / 1000:>7.1f} ms  (self {own / 1000:>5.1f})  {name}")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    registry = start_registry(work / "registry")
    seed = start_server("0.11.4", work / "seed")
    server = None
    try:
        fill_registry(seed, registry.host)
        seed.stop()
        server = start_server("0.11.4", work / "server")
        env = {
            **os.environ,
            "OLLAMA_HOST": server.url,
            "DEMO_REGISTRY": registry.host,
            "OLLAMA_PROVISION_CACHE": str(work / "cache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        demo = str(ROOT / "examples" / "demo.yaml")
        first = subprocess.run(
            [*ollama_provision(), "apply", demo], env=env, capture_output=True, text=True
        )
        if first.returncode != 0:
            raise RuntimeError(f"the first apply failed:\n{first.stdout}{first.stderr}")
        cli = ollama_provision()
        floor, version = time_paired(
            [
                ("python -c pass", [sys.executable, "-c", "pass"]),
                ("ollama-provision --version", [*cli, "--version"]),
            ],
            env,
            runs=RUNS,
        )
        deps, whole = time_paired(
            [
                (f'python -c "{DEPS}"', [sys.executable, "-c", DEPS]),
                ("apply demo.yaml (no-op)", [*cli, "apply", demo]),
            ],
            env,
            runs=RUNS,
        )
        ollama_list = time_command("ollama list", [str(server.binary), "list"], env, runs=RUNS)
        print(f"\nstart-up on Ollama {server.version}, {os.cpu_count()} cores, {RUNS} runs each")
        print(table([floor, version], against=floor))
        print(table([deps, whole, ollama_list], against=deps))
        print(
            "(ratio: median against the first row of its table; goal: the no-op apply "
            "within 1.2x of importing its dependencies)"
        )
        print("no-op apply said:", whole.output.strip().splitlines()[-1])
        importtime = [sys.executable, "-X", "importtime", "-m", "provisioner", "apply", demo]
        print_import_offenders(import_times(importtime, env))
    finally:
        for s in (seed, server):
            if s is not None:
                s.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
