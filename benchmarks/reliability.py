"""The reliability suite (issue 12): crashes, faults, fuzz and a full disk, against real parts.

Starts the real test bed (the registry + nginx, a seed Ollama v0.11.4 that
pushes the CATALOG's tiny models and a 200 MB one), then runs each scenario
several times with the CLI as a subprocess (`python -m provisioner`), every
run bounded by a timeout, and prints one row per scenario:

  1. server SIGKILLed mid-pull: kill `ollama serve` (its whole group) while the
     200 MB model downloads, restart it on the same models folder and port,
     rerun apply; converged = GET /api/tags lists the model with the digest the
     registry serves for its tag.
  2. server SIGKILLed mid-pull, stays down: as 1, but the server is restarted
     only after the interrupted apply has ended, so its retries cannot recover:
     it must exit 1 with one FAILED line naming the model; then the server is
     restarted and the rerun must converge. Both outcomes are counted.
  3. tool SIGKILLed mid-pull: kill the CLI while it pulls the 200 MB model;
     rerun apply; converged as above.
  4. 30 % faults: a FaultProxy in front of the real server fails ~30 % of the
     requests at random (500/502/503 or a reset); apply through it; converged
     is checked directly against Ollama, not through the proxy. An exit 0 while
     Ollama lacks a model is a false "in sync" (must be 0). An apply that
     exits 1 is rerun (through the faults, at most 3 times).
  5. registry faults: the registry's API behind a FaultProxy answering the
     manifest request with 5xx or resets every time; `drift --check-updates`
     for a model that is present must exit 1 (never 3), without a traceback.
  6. fuzz: tests/fuzz_manifest.py (random, mutated and edited manifests through
     `validate`; exit 0 or 2, never a traceback), and tests/fuzz_modelfile.py
     (random, mutated and edited Modelfiles through `validate`, on disk and
     inline; 0 tracebacks, exit 0 or one problem line).
  7. two concurrent applies of one manifest on one server, sharing one hash
     cache: the manifest holds registry models, a custom model on one of them
     and custom models from local GGUF files; each apply targets the shared
     models and half of the local ones. Each exits 0 or 1 (a failure as one
     FAILED line, no traceback), the server converges, and the hash cache
     keeps an entry for every local file (neither run lost the other's).
  8. disk full (root only: a 100 MB tmpfs, unmounted afterwards): OLLAMA_MODELS
     on it, two tiny models and the 200 MB one; the tiny ones converge, the
     big one fails with one "disk is full" line and is not retried.

Run: .venv/bin/python -m benchmarks.reliability [--quick]   (or: make reliability)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.testbed.faultproxy import FaultProxy, Faults
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import CATALOG, SeedModel, push_model
from tests.testbed.served import not_converged
from tests.testbed.tiny_models import write_completion_model

PINNED = "0.11.4"
ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "provisioner"]
RUN_TIMEOUT = 240.0  # seconds, for any one CLI run
PULL_START_TIMEOUT = 60.0  # seconds for a pull to write its first partial blob


@dataclass
class Row:
    scenario: str
    runs: int
    passed: int
    numbers: str
    seconds: float


@dataclass
class Bed:
    work: Path
    registry: Registry
    seed: OllamaServer
    tiny: list[str]  # full names of the CATALOG models
    big: str = ""

    def big_model(self) -> str:
        if not self.big:
            self.big = push_model(
                self.seed, self.registry.host, SeedModel("library/big", "latest", "large", 0)
            )
        return self.big


@dataclass
class Result:
    code: int  # -9 when the run was cut off by its timeout
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args: str, timeout: float = RUN_TIMEOUT, env: dict[str, str] | None = None) -> Result:
    try:
        done = subprocess.run(
            [*CLI, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as e:
        return Result(-9, _text(e.stdout), _text(e.stderr) + f"\n(timed out after {timeout:.0f} s)")
    return Result(done.returncode, done.stdout, done.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def write_manifest(path: Path, names: list[str], extra: str = "") -> Path:
    path.write_text(
        "version: 1\nmodels:\n"
        + "".join(f"  - name: {n}\n    insecure: true\n" for n in names)
        + extra
    )
    return path


def delete_all(server: OllamaServer) -> None:
    for name in server.tags():
        httpx.request("DELETE", server.url + "/api/delete", json={"model": name}, timeout=60)
    if server.tags():
        raise RuntimeError(f"could not empty {server.url}: {server.tags()}")


def wait_for_partial(server: OllamaServer, proc: subprocess.Popen[bytes]) -> bool:
    """Wait until the pull has written part of a blob; False if it never did."""
    deadline = time.monotonic() + PULL_START_TIMEOUT
    blobs = server.models_dir / "blobs"
    while time.monotonic() < deadline:
        if blobs.exists() and any(blobs.glob("*-partial*")):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def partial_bytes(server: OllamaServer) -> int:
    """Bytes written so far: Ollama sizes a partial blob in full up front (a sparse file),
    so count the blocks it holds."""
    blobs = server.models_dir / "blobs"
    return sum(p.stat().st_blocks * 512 for p in blobs.glob("*-partial") if p.is_file())


def spawn_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = RUN_TIMEOUT) -> Result:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Result(-9, _text(out), _text(err) + f"\n(timed out after {timeout:.0f} s)")
    return Result(proc.returncode, _text(out), _text(err))


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def clean(result: Result) -> bool:
    return "Traceback" not in result.text


# 1 ---------------------------------------------------------------------------------------------


def server_killed(bed: Bed, runs: int) -> Row:
    big = bed.big_model()
    manifest = write_manifest(bed.work / "server-killed.yaml", [big])
    passed, false_sync, first_codes, killed_at, notes = 0, 0, Counter[int](), [], []
    for i in range(runs):
        server = start_server(PINNED, bed.work / f"server-killed-{i}")
        proc: subprocess.Popen[bytes] | None = None
        try:
            proc = spawn_cli("--host", server.url, "apply", str(manifest))
            if not wait_for_partial(server, proc):
                notes.append(f"run {i}: the pull never started")
                continue
            time.sleep(random.uniform(0.0, 4.0))  # kill at a different point each run
            killed_at.append(partial_bytes(server))
            server.kill()
            server.start()  # same models folder, same port
            first = finish(proc)
            proc = None
            first_codes[first.code] += 1
            lied = first.code == 0 and bool(not_converged(server, bed.registry.host, [big]))
            if lied:
                false_sync += 1
                notes.append(f"run {i}: the interrupted apply exited 0 but Ollama lacks {big}")
            rerun = run_cli("--host", server.url, "apply", str(manifest))
            missing = not_converged(server, bed.registry.host, [big])
            if rerun.code == 0 and not missing and clean(first) and clean(rerun) and not lied:
                passed += 1
            else:
                notes.append(f"run {i}: rerun exit {rerun.code}, missing {missing}")
        finally:
            if proc is not None:
                kill_group(proc)
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    mb = [b / 1e6 for b in killed_at] or [0.0]
    numbers = (
        f"killed at {min(mb):.0f}-{max(mb):.0f} MB of 200; "
        f"the interrupted apply exited {dict(sorted(first_codes.items()))} "
        f"(it retries while the server restarts), {false_sync} false in-sync"
    )
    return Row("server SIGKILLed mid-pull, rerun", runs, passed, _with(numbers, notes), 0)


# 2 ---------------------------------------------------------------------------------------------


def server_stays_down(bed: Bed, runs: int) -> Row:
    """As server_killed, but the server is restarted only after the interrupted apply ended:
    its retries cannot recover, so it must fail (exit 1, one line naming the model)."""
    big = bed.big_model()
    manifest = write_manifest(bed.work / "server-down.yaml", [big])
    passed, converged, first_codes, gave_up, notes = 0, 0, Counter[int](), list[float](), []
    for i in range(runs):
        server = start_server(PINNED, bed.work / f"server-down-{i}")
        proc: subprocess.Popen[bytes] | None = None
        try:
            proc = spawn_cli("--host", server.url, "apply", str(manifest))
            if not wait_for_partial(server, proc):
                notes.append(f"run {i}: the pull never started")
                continue
            time.sleep(random.uniform(0.0, 4.0))
            server.kill()
            killed = time.monotonic()
            first = finish(proc)
            proc = None
            gave_up.append(time.monotonic() - killed)
            first_codes[first.code] += 1
            failed = [x for x in first.text.splitlines() if "FAILED" in x]
            server.start()  # same models folder, same port
            rerun = run_cli("--host", server.url, "apply", str(manifest))
            missing = not_converged(server, bed.registry.host, [big])
            converged += rerun.code == 0 and not missing
            one_line = len(failed) == 1 and big in failed[0]
            if first.code == 1 and one_line and clean(first) and rerun.code == 0 and not missing:
                passed += 1
                if len(notes) < 1:
                    notes.append(failed[0].strip()[:300])
            else:
                notes.append(
                    f"run {i}: first exit {first.code} ({' | '.join(failed)[:200]}), "
                    f"rerun exit {rerun.code}, missing {missing}"
                )
        finally:
            if proc is not None:
                kill_group(proc)
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    waited = gave_up or [0.0]
    numbers = (
        f"the interrupted apply exited {dict(sorted(first_codes.items()))} "
        f"{min(waited):.0f}-{max(waited):.0f} s after the kill; "
        f"{converged}/{runs} reruns converged after the restart"
    )
    return Row("server SIGKILLed mid-pull, stays down", runs, passed, _with(numbers, notes), 0)


# 3 ---------------------------------------------------------------------------------------------


def tool_killed(bed: Bed, runs: int) -> Row:
    big = bed.big_model()
    manifest = write_manifest(bed.work / "tool-killed.yaml", [big])
    server = start_server(PINNED, bed.work / "tool-killed")
    passed, killed_at, notes = 0, [], []
    try:
        for i in range(runs):
            delete_all(server)
            proc = spawn_cli("--host", server.url, "apply", str(manifest))
            try:
                if not wait_for_partial(server, proc):
                    notes.append(f"run {i}: the pull never started")
                    continue
                time.sleep(random.uniform(0.0, 4.0))
                killed_at.append(partial_bytes(server))
            finally:
                kill_group(proc)
            rerun = run_cli("--host", server.url, "apply", str(manifest))
            missing = not_converged(server, bed.registry.host, [big])
            if rerun.code == 0 and not missing and clean(rerun):
                passed += 1
            else:
                notes.append(f"run {i}: rerun exit {rerun.code}, missing {missing}")
    finally:
        server.stop()
    mb = [b / 1e6 for b in killed_at] or [0.0]
    numbers = f"killed at {min(mb):.0f}-{max(mb):.0f} MB of 200"
    return Row("tool SIGKILLed mid-pull, rerun", runs, passed, _with(numbers, notes), 0)


# 4 ---------------------------------------------------------------------------------------------


@dataclass
class RandomFaults(Faults):
    """Fail a share of all requests at random: 500, 502, 503 or a connection reset."""

    rate: float = 0.3
    rng: random.Random = field(default_factory=lambda: random.Random(12))
    injected: Counter[str] = field(default_factory=Counter)

    def take(self, path: str) -> tuple[str, int] | None:
        with self.lock:
            self.seen[path] += 1
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(("500", "502", "503", "reset"))
            self.injected[kind] += 1
            return ("reset", 0) if kind == "reset" else ("status", int(kind))


def random_faults(bed: Bed, runs: int) -> Row:
    names = bed.tiny
    manifest = write_manifest(bed.work / "faults.yaml", names)
    server = start_server(PINNED, bed.work / "faults")
    proxy = FaultProxy(server.url)
    faults = proxy.faults = RandomFaults()
    proxy.start()
    first_try, eventually, false_sync, notes = 0, 0, 0, []
    try:
        for i in range(runs):
            delete_all(server)
            for attempt in range(4):  # the apply, then at most 3 reruns through the faults
                result = run_cli("--host", proxy.url, "apply", str(manifest))
                missing = not_converged(server, bed.registry.host, names)
                if result.code == 0 and missing:
                    false_sync += 1
                    notes.append(f"run {i}: exit 0 but Ollama lacks {missing}")
                if not clean(result) or result.code not in (0, 1):
                    notes.append(f"run {i}: exit {result.code}: {result.text.strip()[-200:]}")
                    break
                if result.code == 0 and not missing:
                    first_try += attempt == 0
                    eventually += 1
                    break
    finally:
        proxy.stop()
        server.stop()
    requests = sum(faults.seen.values())
    injected = sum(faults.injected.values())
    numbers = (
        f"{first_try}/{runs} converged first try, {eventually}/{runs} within 3 reruns; "
        f"{injected} faults in {requests} requests ({dict(sorted(faults.injected.items()))}); "
        f"{false_sync} false in-sync"
    )
    passed = eventually if false_sync == 0 else 0
    return Row("30 % faults (proxy before Ollama)", runs, passed, _with(numbers, notes), 0)


# 5 ---------------------------------------------------------------------------------------------


def registry_faults(bed: Bed, runs: int) -> Row:
    upstream = FaultProxy(f"http://{bed.registry.host}").start()
    server = start_server(PINNED, bed.work / "registry-faults")
    path = "/v2/library/tiny/manifests/latest"
    name = f"127.0.0.1:{upstream.port}/library/tiny:latest"
    manifest = write_manifest(bed.work / "registry-faults.yaml", [name])
    passed, codes, kinds, notes = 0, Counter[int](), Counter[str](), []
    rng = random.Random(4)
    try:
        pulled = run_cli("--host", server.url, "apply", str(manifest))
        if pulled.code != 0:
            raise RuntimeError(f"the first apply failed: {pulled.text[-300:]}")
        for i in range(runs):
            kind = rng.choice(("500", "502", "503", "reset"))
            kinds[kind] += 1
            before = upstream.faults.seen[path]
            if kind == "reset":
                upstream.reset(path, 50)
            else:
                upstream.fail(path, *[int(kind)] * 50)
            result = run_cli("--host", server.url, "drift", "--check-updates", str(manifest))
            upstream.faults.statuses[path].clear()
            upstream.faults.resets[path] = 0
            codes[result.code] += 1
            lines = [x for x in result.text.splitlines() if x.strip()]
            if result.code == 1 and clean(result):
                passed += 1
            else:
                notes.append(f"run {i} ({kind}): exit {result.code}: {' | '.join(lines[-3:])}")
            if i == 0:
                asked = upstream.faults.seen[path] - before
                notes.append(f"{asked} manifest requests per drift")
    finally:
        server.stop()
        upstream.stop()
    numbers = (
        f"drift --check-updates exited {dict(sorted(codes.items()))}; "
        f"faults {dict(sorted(kinds.items()))}"
    )
    return Row("registry 5xx/reset during drift", runs, passed, _with(numbers, notes), 0)


# 6 ---------------------------------------------------------------------------------------------


def fuzz(script: str, scenario: str, cases: int) -> Row:
    """Run a fuzz script (tests/fuzz_*.py) and read its `total:` line."""
    try:
        done = subprocess.run(
            [sys.executable, script, "--cases", str(cases)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=1800,
            check=False,
        )
        code, text = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as e:
        code, text = -9, _text(e.stdout) + "(timed out)"
    total = next((x for x in text.splitlines() if x.startswith("total:")), "")
    ran = int(total.split()[1]) if total else 0
    numbers = total or f"exit {code}: {text.strip()[-300:]}"
    if code != 0:
        numbers = _with(numbers, [x for x in text.splitlines() if x.startswith("case ")])
    return Row(scenario, ran, ran if code == 0 else 0, numbers, 0)


# 7 ---------------------------------------------------------------------------------------------


LOCAL_MODELS = 4  # custom models from local GGUF files in the concurrent scenario


def cache_lacks(cache_file: Path, files: list[Path]) -> list[str]:
    """The files the hash cache holds no entry for (its keys start with the resolved path)."""
    try:
        keys = json.loads(cache_file.read_text()).get("files", {})
    except (OSError, ValueError) as e:
        return [f"{cache_file}: {e}"]
    return [f.name for f in files if not any(k.startswith(f"{f.resolve()}|") for k in keys)]


def concurrent(bed: Bed, runs: int) -> Row:
    folder = bed.work / "concurrent"
    folder.mkdir(exist_ok=True)
    weights = [folder / f"w{i}.gguf" for i in range(LOCAL_MODELS)]
    for i, file in enumerate(weights):
        write_completion_model(file, seed=20 + i)
    base = bed.tiny[0]
    local = [f"conc-local-{i}" for i in range(LOCAL_MODELS)]
    extra = (
        f"  - name: conc-custom\n    modelfile: |\n"
        f"      FROM {base}\n      PARAMETER temperature 0.25\n"
    ) + "".join(
        f"  - name: {n}\n    modelfile: FROM ./{w.name}\n"
        for n, w in zip(local, weights, strict=True)
    )
    manifest = write_manifest(folder / "concurrent.yaml", bed.tiny, extra)
    # Both runs race on the registry models and conc-custom; each hashes its own half of
    # the local files into the one cache, so a run that overwrote the other's saves shows.
    shared = [*bed.tiny, "conc-custom"]
    targets = [
        [a for name in [*shared, *local[half::2]] for a in ("--target", name)] for half in (0, 1)
    ]
    customs = ["conc-custom", *local]
    server = start_server(PINNED, bed.work / "concurrent-server")
    passed, codes, lost_runs, notes = 0, Counter[tuple[int, int]](), 0, []
    try:
        for i in range(runs):
            delete_all(server)
            env = {"OLLAMA_PROVISION_CACHE": str(folder / f"cache-{i}")}
            procs = [
                spawn_cli("--host", server.url, "apply", str(manifest), *t, env=env)
                for t in targets
            ]
            results: list[Result] = []
            try:
                results = [finish(p) for p in procs]
            finally:
                for p in procs:
                    kill_group(p)
            codes[(results[0].code, results[1].code)] += 1
            problems = []
            for r in results:
                if r.code not in (0, 1) or not clean(r):
                    problems.append(f"exit {r.code}: {r.text.strip()[-200:]}")
                if r.code == 1:
                    failed = [x for x in r.out.splitlines() if "FAILED" in x]
                    if not failed and len(r.err.strip().splitlines()) != 1:
                        problems.append(f"exit 1 without a one-line error: {r.text.strip()[-200:]}")
            lacks = cache_lacks(folder / f"cache-{i}" / "hashes.json", weights)
            if lacks:
                lost_runs += 1
                problems.append(f"the hash cache lost {lacks}")
            after = run_cli("--host", server.url, "drift", str(manifest), env=env)
            missing = not_converged(server, bed.registry.host, bed.tiny)
            missing += [n for n in customs if f"{n}:latest" not in server.tags()]
            if missing:
                # Both may end 1; the server must still converge on a rerun.
                rerun = run_cli("--host", server.url, "apply", str(manifest), env=env)
                missing = not_converged(server, bed.registry.host, bed.tiny)
                missing += [n for n in customs if f"{n}:latest" not in server.tags()]
                if rerun.code != 0:
                    missing.append(f"(rerun exit {rerun.code})")
            elif after.code != 0:
                problems.append(f"drift after both exited {after.code}")
            if missing:
                problems.append(f"not converged: {missing}")
            if problems:
                notes.append(f"run {i}: {'; '.join(problems)}")
            else:
                passed += 1
    finally:
        server.stop()
    numbers = "exit pairs " + ", ".join(f"{a}/{b} x{n}" for (a, b), n in sorted(codes.items()))
    numbers += f"; {lost_runs} runs lost hash-cache entries ({LOCAL_MODELS} local files)"
    return Row("two concurrent applies, one server", runs, passed, _with(numbers, notes), 0)


# 8 ---------------------------------------------------------------------------------------------


def disk_full(bed: Bed, runs: int) -> Row | None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return None
    big = bed.big_model()
    tiny = bed.tiny[:2]
    manifest = write_manifest(bed.work / "disk-full.yaml", [*tiny, big])
    passed, notes, pulls = 0, [], Counter[int]()
    for i in range(runs):
        mnt = bed.work / f"tmpfs-{i}"
        mnt.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(mnt)], check=True, timeout=30
        )
        server: OllamaServer | None = None
        try:
            server = start_server(
                PINNED, bed.work / f"disk-full-{i}", env={"OLLAMA_MODELS": str(mnt)}
            )
            result = run_cli("--host", server.url, "apply", str(manifest))
            time.sleep(0.3)
            n = sum(1 for _, m, p in server.settled_requests() if m == "POST" and p == "/api/pull")
            pulls[n] += 1
            full = [x for x in result.out.splitlines() if "FAILED" in x and big in x]
            missing = not_converged(server, bed.registry.host, tiny)
            ok = (
                result.code == 1
                and clean(result)
                and len(full) == 1
                and "disk is full" in full[0]
                and "retry" not in result.text
                and n == 3
                and not missing
            )
            if ok:
                passed += 1
                if i == 0:
                    notes.append(full[0].strip()[:400])
            else:
                notes.append(
                    f"run {i}: exit {result.code}, {n} pulls, missing {missing}: "
                    f"{result.text.strip()[-300:]}"
                )
        finally:
            if server is not None:
                server.stop()
            subprocess.run(["umount", str(mnt)], check=False, timeout=60)
            shutil.rmtree(mnt, ignore_errors=True)
    numbers = f"POST /api/pull per apply {dict(sorted(pulls.items()))} (3 models: not retried)"
    return Row("disk full (100 MB tmpfs)", runs, passed, _with(numbers, notes), 0)


# -----------------------------------------------------------------------------------------------


def _with(numbers: str, notes: list[str]) -> str:
    return numbers + "".join(f"\n      {n}" for n in notes[:5])


def print_table(rows: list[Row]) -> None:
    width = max(len(r.scenario) for r in rows)
    print(f"\n{'scenario':{width}}  {'runs':>5}  {'passed':>6}  {'seconds':>7}  numbers")
    for r in rows:
        print(f"{r.scenario:{width}}  {r.runs:>5}  {r.passed:>6}  {r.seconds:>7.0f}  {r.numbers}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a few runs of each scenario")
    parser.add_argument("--only", default="", help="comma-separated scenario labels to run")
    args = parser.parse_args()
    q = args.quick
    work = Path(tempfile.mkdtemp(prefix="reliability-"))
    registry = start_registry(work / "registry")
    seed: OllamaServer | None = None
    rows: list[Row] = []
    try:
        seed = start_server(PINNED, work / "seed")
        tiny = [push_model(seed, registry.host, m) for m in CATALOG]
        bed = Bed(work, registry, seed, tiny)
        scenarios: list[tuple[str, Callable[[], Row | None]]] = [
            ("server killed", lambda: server_killed(bed, 3 if q else 20)),
            ("server down", lambda: server_stays_down(bed, 2 if q else 10)),
            ("tool killed", lambda: tool_killed(bed, 2 if q else 10)),
            ("30 % faults", lambda: random_faults(bed, 5 if q else 30)),
            ("registry faults", lambda: registry_faults(bed, 3 if q else 10)),
            (
                "fuzz",
                lambda: fuzz(
                    "tests/fuzz_manifest.py",
                    "fuzzed manifests through validate",
                    300 if q else 10_000,
                ),
            ),
            (
                "fuzz modelfiles",
                lambda: fuzz(
                    "tests/fuzz_modelfile.py",
                    "fuzzed Modelfiles through validate",
                    300 if q else 10_000,
                ),
            ),
            ("concurrent", lambda: concurrent(bed, 3 if q else 10)),
            ("disk full", lambda: disk_full(bed, 1 if q else 3)),
        ]
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        for label, scenario in scenarios:
            if only and label not in only:
                continue
            started = time.perf_counter()
            try:
                row = scenario()
            except Exception as e:  # a broken harness is a row, not the end of the run
                row = Row(label, 0, 0, f"harness error: {type(e).__name__}: {e}", 0)
            if row is None:
                print(f"{label}: skipped (needs root to mount a tmpfs)", flush=True)
                continue
            row.seconds = time.perf_counter() - started
            rows.append(row)
            print(
                f"{row.scenario}: {row.passed}/{row.runs} in {row.seconds:.0f} s; {row.numbers}",
                flush=True,
            )
    finally:
        if seed is not None:
            seed.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    return 0 if rows and all(r.runs > 0 and r.passed == r.runs for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
