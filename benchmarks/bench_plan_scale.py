"""Plan at scale: the pure plan, and `ollama-provision plan` vs `ollama list` on 10,000 models.

Part 1, pure (no server): make_plan(manifest, state) of N declared vs N
present models, N in BENCH_PLAN_SIZES (default 1000,2000,4000,10000). The
manifest mixes what a big fleet manifest holds: registry models (some pinned,
some with aliases, some missing from the server), custom models (some built
on others, some missing: create actions in dependency order), models declared
absent, and pruning on with keep patterns; the server holds the declared
models, the aliases, the absent ones and undeclared extras (N in all).

Part 2, real: one Ollama v0.11.4 server from the test bed holding
BENCH_PLAN_SERVER_MODELS models (default 10000), made from one tiny created
model by the real POST /api/copy (what `ollama cp` sends), several at once.
Copies cost O(n) each on the server (see real()), so its models folder is
kept in the cache (BENCH_PLAN_STORE) and grown, not rebuilt, on the next run
(the manifest declares every model the server holds, so a folder grown larger
by an earlier run is measured at its size). Then, side by side, BENCH_RUNS runs (default 5) each of
  `ollama-provision plan models.yaml`  (a manifest declaring all of them)
  `ollama list`                         (the same server, the same build's CLI)
with best and median wall time and the ratio.

BENCH_QUICK=1: sizes 1000,2000 and at least 1,000 models on the server (for
`make bench` on a small machine; BENCH_PLAN_STORE=/tmp/x for a folder of its own).
Run: .venv/bin/python -m benchmarks.bench_plan_scale
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.timing import ollama_provision, table, time_command
from provisioner.errors import Position
from provisioner.names import parse_name
from provisioner.reconcile.plan import Plan, make_plan
from provisioner.types.manifest import (
    CreateSpec,
    Manifest,
    ModelSpec,
    PruneSettings,
    ServerSettings,
)
from provisioner.types.state import ServerModel, ServerState

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = [
    int(s)
    for s in os.environ.get("BENCH_PLAN_SIZES", "1000,2000" if QUICK else "1000,2000,4000,10000")
    .replace(" ", "")
    .split(",")
    if s
]
SERVER_MODELS = int(os.environ.get("BENCH_PLAN_SERVER_MODELS", "1000" if QUICK else "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
STEP = 200  # copies between progress lines
BUDGET = float(os.environ.get("BENCH_PLAN_BUDGET", "120"))  # seconds; a bigger N is skipped
HERE = Position("models.yaml", 1, 1)


def _digest(i: int) -> str:
    """As the client spells every digest it reads from /api/tags."""
    return f"sha256:{i:064x}"


def scenario(n: int) -> tuple[Manifest, ServerState]:
    """N declared models vs N models on the server, every drift kind that scales."""
    specs: list[ModelSpec] = []
    present: list[tuple[str, str]] = []
    for i in range(n):
        kind = i % 10
        name = f"team/model-{i}:v{i % 3}"
        if kind in (0, 1, 2):  # registry, in sync
            specs.append(ModelSpec(parse_name(name), "registry", HERE))
            present.append((name, _digest(i)))
        elif kind == 3:  # registry, pinned and in sync, with two aliases (one stale)
            aliases = (parse_name(f"alias-{i}"), parse_name(f"team/alias-{i}:stable"))
            specs.append(
                ModelSpec(
                    parse_name(name),
                    "registry",
                    HERE,
                    digest=_digest(i),
                    aliases=aliases,
                )
            )
            present += [
                (name, _digest(i)),
                (f"alias-{i}", _digest(i)),
                (f"team/alias-{i}:stable", _digest(i + 1)),
            ]
        elif kind == 4:  # registry, missing: a pull
            specs.append(ModelSpec(parse_name(name), "registry", HERE, insecure=True))
            present.append((f"other/undeclared-{i}:latest", _digest(i)))  # an extra instead
        elif kind == 5:  # custom on the registry model just before it, present
            base = parse_name(f"team/model-{i - 1}:v{(i - 1) % 3}")
            create = CreateSpec(from_=base.display, system="Be brief.")
            specs.append(ModelSpec(parse_name(name), "custom", HERE, create=create, base=base))
            present.append((name, _digest(i)))
        elif kind == 6:  # custom on the custom model just before it, missing: a create
            base = parse_name(f"team/model-{i - 1}:v{(i - 1) % 3}")
            create = CreateSpec(from_=base.display, parameters={"temperature": 0.2})
            specs.append(ModelSpec(parse_name(name), "custom", HERE, create=create, base=base))
        elif kind == 7:  # custom on an undeclared, missing base: an implicit pull, then a create
            base = parse_name(f"library/base-{i}:latest")
            create = CreateSpec(from_=base.display)
            specs.append(ModelSpec(parse_name(name), "custom", HERE, create=create, base=base))
            present.append((f"keep-embed-{i}:latest", _digest(i)))  # kept by a pattern
        elif kind == 8:  # declared absent and present: a delete
            specs.append(ModelSpec(parse_name(name), "absent", HERE))
            present.append((name, _digest(i)))
        else:  # registry, warm (not loaded), in sync
            specs.append(ModelSpec(parse_name(name), "registry", HERE, warm=True, keep_alive="5m"))
            present.append((name, _digest(i)))
    # N present: top up with undeclared models (pruned), or trim the extras.
    for i in range(len(present), n):
        present.append((f"stray/leftover-{i}:latest", _digest(i)))
    present = present[:n]
    manifest = Manifest(
        Path("/bench/models.yaml").absolute(),
        1,
        ServerSettings(),
        tuple(specs),
        PruneSettings(True, ("keep-embed-*",)),
    )
    models = tuple(ServerModel(parse_name(name), d, 1, "") for name, d in present)
    return manifest, ServerState("0.11.4", models, running=())


def in_sync_scenario(n: int) -> tuple[Manifest, ServerState]:
    """N declared registry models, all present with the same names: the everyday no-op."""
    names = [f"team/model-{i}:v{i % 3}" for i in range(n)]
    specs = tuple(ModelSpec(parse_name(name), "registry", HERE) for name in names)
    models = tuple(ServerModel(parse_name(name), _digest(i), 1, "") for i, name in enumerate(names))
    manifest = Manifest(Path("/bench/models.yaml").absolute(), 1, ServerSettings(), specs)
    return manifest, ServerState("0.11.4", models)


def time_plan(manifest: Manifest, state: ServerState) -> tuple[float, float, int, Plan]:
    """Best and median seconds of make_plan: up to RUNS runs, fewer once 20 s are spent."""
    times: list[float] = []
    plan: Plan | None = None
    while len(times) < RUNS and (not times or sum(times) < 20):
        started = time.perf_counter()
        plan = make_plan(manifest, state)
        times.append(time.perf_counter() - started)
    assert plan is not None
    return min(times), statistics.median(times), len(times), plan


def pure() -> None:
    print("pure plan: make_plan(manifest, state), N declared vs N present (no I/O)")
    print(
        f"{'scenario':>8} {'N':>6} {'actions':>8} {'in sync':>8} "
        f"{'best':>9} {'median':>9} {'runs':>5} {'per model':>10}"
    )
    for label, build in (("in-sync", in_sync_scenario), ("mixed", scenario)):
        previous: tuple[int, float] | None = None
        for n in SIZES:
            if previous is not None and previous[1] * (n / previous[0]) ** 2 > BUDGET:
                guess = previous[1] * (n / previous[0]) ** 2
                print(
                    f"{label:>8} {n:>6}  skipped: ~{guess:.0f}s if it stays quadratic "
                    f"(over BENCH_PLAN_BUDGET={BUDGET:.0f}s)"
                )
                continue
            manifest, state = build(n)
            best, median, runs, plan = time_plan(manifest, state)
            growth = ""
            if previous is not None:
                growth = f"  x{best / previous[1]:.1f} for x{n / previous[0]:.1f} models"
            print(
                f"{label:>8} {n:>6} {len(plan.actions):>8} {len(plan.in_sync):>8} "
                f"{best:>8.3f}s {median:>8.3f}s {runs:>5} {best / n * 1e6:>8.1f}us{growth}"
            )
            previous = (n, best)
    print(
        "(goal: under 1 s at 10,000; filed before issue 9, in-sync shape: "
        "0.33 s / 1.3 s / 5.3 s / 37 s)"
    )


def _copy_all(url: str, source: str, names: list[str]) -> None:
    """POST /api/copy (what `ollama cp` sends) for every name, a few at a time."""
    with httpx.Client(base_url=url, timeout=600) as client:

        def copy(name: str) -> None:
            answer = client.post("/api/copy", json={"source": source, "destination": name})
            answer.raise_for_status()

        pool = ThreadPoolExecutor(max_workers=4)
        try:
            list(pool.map(copy, names))
        finally:
            pool.shutdown(cancel_futures=True)  # Ctrl-C: stop now, keep what was copied


def store_folder() -> Path:
    """Where the many-model server keeps its models between runs (see real())."""
    from tests.testbed.build import cache_dir

    default = cache_dir() / "bench-plan-store-0.11.4"
    return Path(os.environ.get("BENCH_PLAN_STORE", str(default)))


def real() -> None:
    """`plan` vs `ollama list` on a server holding SERVER_MODELS models.

    Ollama v0.11.4 reads every manifest on each copy (getExistingName walks
    Manifests() for the case-insensitive match, twice), so filling a server
    costs O(n^2): hours for 10,000 models on two cores. The server's folder is
    therefore kept in the cache and only the missing copies are made on each
    run: the first 10,000-model run pays once. A stopped run keeps its copies.
    """
    from tests.testbed.ollama_server import start_server
    from tests.testbed.seed import create_local

    folder = store_folder()
    folder.mkdir(parents=True, exist_ok=True)
    server = start_server("0.11.4", folder)
    work = Path(tempfile.mkdtemp(prefix="bench-plan-"))
    try:
        source = "bench/source:latest"
        present = set(server.tags())
        if source not in present:
            create_local(server, source, "completion", 0)
        names = [f"bench/m{i:05d}:latest" for i in range(1, SERVER_MODELS)]
        todo = [n for n in names if n not in present]
        started = time.perf_counter()
        for i in range(0, len(todo), STEP):  # in steps, so progress shows and survives a stop
            _copy_all(server.url, source, todo[i : i + STEP])
            print(
                f"  copied {min(i + STEP, len(todo))}/{len(todo)} "
                f"({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
        # Declare exactly what the server holds: at least SERVER_MODELS models, more
        # when an earlier run with a larger count grew the kept folder.
        declared = sorted(server.tags())
        print(
            f"\nreal server: Ollama {server.version} holding {len(declared)} models "
            f"({len(todo)} copied by POST /api/copy in {time.perf_counter() - started:.0f}s "
            f"this run; kept in {folder})"
        )
        manifest = work / "models.yaml"
        manifest.write_text("version: 1\nmodels:\n" + "".join(f"  - name: {n}\n" for n in declared))
        env = {**server.env(), "NO_COLOR": "1"}
        ours = [*ollama_provision(), "--host", server.url, "plan", str(manifest)]
        plan = time_command(
            f"ollama-provision plan ({len(declared)} declared)", ours, env, runs=RUNS
        )
        listing = time_command("ollama list", [str(server.binary), "list"], env, runs=RUNS)
        print(table([plan, listing], against=listing))
        print("(ratio: median against `ollama list`; goal: the plan within 3x)")
        print("plan said:", plan.output.strip().splitlines()[-1])
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    # SIGTERM too stops the copies cleanly (the server stops, the copies stay):
    # a background job ignores SIGINT.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    pure()
    if os.environ.get("BENCH_PLAN_PURE_ONLY") != "1":
        real()


if __name__ == "__main__":
    main()
