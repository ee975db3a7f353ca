"""Hash and upload of a large local GGUF: ours vs `ollama create -f`, at two sizes.

For each size (default 512 MB and 2 GB; BENCH_SIZES_MB="512,2048" to change)
it writes a valid one-tensor GGUF (constant memory), then runs BENCH_ROUNDS
rounds (default 3) of, side by side, each against its own fresh Ollama v0.11.4
server (so every upload really sends the bytes) and a cold hash cache:
  A) our blob path alone, in a child process: sha256 (HashCache), HEAD, POST
     /api/blobs, then POST /api/create; each phase timed;
  B) `ollama-provision apply` of a manifest whose Modelfile is `FROM ./big.gguf`
     (the whole command: load, observe, plan, hash, upload, create), then the
     same apply again (the re-apply: cache hit, nothing sent);
  C) the same build's `ollama create -f Modelfile` (hash, upload, create).
Peak memory is each command's maximum resident set: getrusage(RUSAGE_CHILDREN)
ru_maxrss, read by a small launcher process that runs just that command. The
file was just written, so every run reads it from the page cache; the numbers
compare CPU and the loopback transfer, not the disk. Run: .venv/bin/python -m benchmarks.bench_blobs
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from provisioner.custom.hash_cache import HashCache
from provisioner.server.client import Client
from tests.testbed.ollama_server import OllamaServer, start_server

MB = 1 << 20
SIZES_MB = [int(s) for s in os.environ.get("BENCH_SIZES_MB", "512,2048").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # this VM's disk varies by ±50% run to run
T = TypeVar("T")


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    out: str


# A small process that runs one command and reports getrusage(RUSAGE_CHILDREN).ru_maxrss.
# Linux carries the pre-exec memory of a forked child into its ru_maxrss, so a child
# forked from this (numpy-sized) script would report at least our own size; forked
# from this launcher it reports at least the launcher's (the floor, printed below).
_LAUNCHER = (
    "import os, resource, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status = os.waitpid(pid, 0)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def measure(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> Measured:
    """Run a command; its wall time and its peak RSS (KB on Linux), through the launcher."""
    with tempfile.NamedTemporaryFile(prefix="maxrss-", delete=False) as f:
        report = Path(f.name)
    os.sync()  # no writeback of an earlier run's blob while this one runs
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *cmd],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    out = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{out[-2000:]}")
    peak_kb = int(report.read_text())
    report.unlink()
    return Measured(seconds, peak_kb / 1024, out)


def child(url: str, file: str, cache: str) -> None:
    """A): hash, HEAD + upload, create; print the phase times as JSON."""
    path = Path(file)
    with Client(url, timeout=600) as client:
        t0 = time.monotonic()
        digest = HashCache(Path(cache) / "hashes.json").digest(path)
        t1 = time.monotonic()
        if not client.blob_exists(digest):
            client.upload_blob(digest, path)
        t2 = time.monotonic()
        client.create({"model": "ours-blob", "files": {path.name: digest}})
        t3 = time.monotonic()
    print(json.dumps({"hash": t1 - t0, "upload": t2 - t1, "create": t3 - t2}))


def _on_fresh_server(folder: Path, run: Callable[[OllamaServer], T]) -> T:
    server = start_server("0.11.4", folder)
    try:
        return run(server)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def one_round(folder: Path, big: Path, i: int) -> dict[str, dict[str, float]]:
    """A), B) and C) once each, every one on its own fresh server and cold cache."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    row: dict[str, dict[str, float]] = {}

    def blob(server: OllamaServer) -> None:
        cache = folder / f"cache-a{i}"
        cmd = [sys.executable, "-m", "benchmarks.bench_blobs", "child", server.url]
        run = measure([*cmd, str(big), str(cache)], env)
        phases = json.loads(run.out.strip().splitlines()[-1])
        row["ours_blob"] = {**phases, "seconds": run.seconds, "peak_mb": run.peak_mb}

    def apply(server: OllamaServer) -> None:
        apply_env = {**env, "OLLAMA_PROVISION_CACHE": str(folder / f"cache-b{i}")}
        cmd = [sys.executable, "-m", "provisioner", "--host", server.url, "--quiet", "apply"]
        first = measure([*cmd, "models.yaml"], apply_env, cwd=folder)
        again = measure([*cmd, "models.yaml"], apply_env, cwd=folder)
        row["ours_apply"] = {"seconds": first.seconds, "peak_mb": first.peak_mb}
        row["ours_reapply"] = {"seconds": again.seconds, "peak_mb": again.peak_mb}

    def reference(server: OllamaServer) -> None:
        cmd = [str(server.binary), "create", "theirs", "-f", "Modelfile"]
        run = measure(cmd, server.env(), cwd=folder)
        row["ollama_create"] = {"seconds": run.seconds, "peak_mb": run.peak_mb}

    _on_fresh_server(folder / f"server-a{i}", blob)
    _on_fresh_server(folder / f"server-b{i}", apply)
    _on_fresh_server(folder / f"server-c{i}", reference)
    return row


def one_size(work: Path, size_mb: int) -> dict[str, dict[str, float]]:
    """ROUNDS rounds; the median time of each figure, and the largest peak."""
    folder = work / f"{size_mb}mb"
    folder.mkdir()
    big = folder / "big.gguf"
    from tests.testbed.tiny_models import write_large_model  # numpy: not in the child

    t = time.monotonic()
    write_large_model(big, size_mb * MB)
    print(f"  wrote {big.stat().st_size / MB:.0f} MB GGUF in {time.monotonic() - t:.1f}s")
    (folder / "Modelfile").write_text("FROM ./big.gguf\n")
    (folder / "models.yaml").write_text(
        "version: 1\nmodels:\n  - name: ours-apply\n    modelfile_path: Modelfile\n"
    )
    rounds = []
    for i in range(ROUNDS):
        rounds.append(one_round(folder, big, i))
        shown = {k: {n: round(v, 2) for n, v in d.items()} for k, d in rounds[-1].items()}
        print("  round", i + 1, json.dumps(shown))
    big.unlink()
    summary: dict[str, dict[str, float]] = {"size": {"mb": size_mb}}
    for what in rounds[0]:
        summary[what] = {
            key: (max if key == "peak_mb" else statistics.median)([r[what][key] for r in rounds])
            for key in rounds[0][what]
        }
    return summary


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        child(*sys.argv[2:])
        return
    work = Path(tempfile.mkdtemp(prefix="bench-blobs-"))
    rows = []
    floor = measure(["/bin/true"], dict(os.environ)).peak_mb
    python = measure([sys.executable, "-c", "import provisioner.cli"], dict(os.environ)).peak_mb
    print(
        f"peak RSS floor (the launcher): {floor:.1f} MB; python importing our CLI: {python:.1f} MB"
    )
    try:
        for size in SIZES_MB:
            print(f"{size} MB:")
            rows.append(one_size(work, size))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'size':>7} | {'ours: hash':>10} {'upload':>7} {'create':>7} {'total':>7} {'peak':>8} "
        f"| {'apply':>7} {'peak':>8} | {'re-apply':>8} | {'ollama create -f':>16} {'peak':>8}"
    )
    for r in rows:
        blob, apply_, again, theirs = (
            r["ours_blob"],
            r["ours_apply"],
            r["ours_reapply"],
            r["ollama_create"],
        )
        print(
            f"{r['size']['mb']:>5.0f}MB | {blob['hash']:>9.2f}s {blob['upload']:>6.2f}s "
            f"{blob['create']:>6.2f}s {blob['seconds']:>6.2f}s {blob['peak_mb']:>6.1f}MB "
            f"| {apply_['seconds']:>6.2f}s {apply_['peak_mb']:>6.1f}MB "
            f"| {again['seconds']:>7.2f}s "
            f"| {theirs['seconds']:>15.2f}s {theirs['peak_mb']:>6.1f}MB"
        )
    print(f"(median of {ROUNDS} rounds; peak: the largest of the rounds)")


if __name__ == "__main__":
    main()
