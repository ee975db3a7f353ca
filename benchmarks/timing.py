"""Timing commands the way hyperfine does: several runs, best and median, side by side."""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def ollama_provision() -> list[str]:
    """$OLLAMA_PROVISION (a command line), else the installed console script (what a
    user runs), else `python -m provisioner`."""
    if os.environ.get("OLLAMA_PROVISION"):
        return shlex.split(os.environ["OLLAMA_PROVISION"])
    script = Path(sys.executable).parent / "ollama-provision"
    return [str(script)] if script.exists() else [sys.executable, "-m", "provisioner"]


@dataclass(frozen=True)
class Timing:
    label: str
    times: tuple[float, ...]
    output: str  # stdout + stderr of the last run

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def time_command(
    label: str,
    cmd: list[str],
    env: dict[str, str] | None = None,
    *,
    runs: int = 10,
    warmup: int = 1,
) -> Timing:
    """Run cmd `warmup` times untimed, then `runs` times timed; fail on a non-zero exit."""
    times: list[float] = []
    output = ""
    for i in range(warmup + runs):
        started = time.perf_counter()
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{output[-2000:]}")
        if i >= warmup:
            times.append(elapsed)
    return Timing(label, tuple(times), output)


def time_paired(
    commands: list[tuple[str, list[str]]],
    env: dict[str, str] | None = None,
    *,
    runs: int = 10,
    warmup: int = 1,
) -> list[Timing]:
    """Time several commands in turns (a, b, a, b, ...), so a slow moment of the
    machine costs each of them alike; fail on a non-zero exit."""
    times: list[list[float]] = [[] for _ in commands]
    outputs = ["" for _ in commands]
    for i in range(warmup + runs):
        for n, (_, cmd) in enumerate(commands):
            started = time.perf_counter()
            result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            outputs[n] = result.stdout + result.stderr
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{outputs[n]}")
            if i >= warmup:
                times[n].append(elapsed)
    return [
        Timing(label, tuple(t), out)
        for (label, _), t, out in zip(commands, times, outputs, strict=True)
    ]


def table(rows: list[Timing], *, against: Timing | None = None) -> str:
    """Best and median of each row; with `against`, each row's ratio to it (by median)."""
    width = max(len(r.label) for r in rows)
    lines = [
        f"{'':{width}}  {'best':>9}  {'median':>9}  {'runs':>4}" + ("  ratio" if against else "")
    ]
    for r in rows:
        best, median = r.best * 1000, r.median * 1000
        line = f"{r.label:{width}}  {best:>7.1f}ms  {median:>7.1f}ms  {len(r.times):>4}"
        if against is not None:
            line += f"  {r.median / against.median:>5.2f}x"
        lines.append(line)
    return "\n".join(lines)
