"""Benchmark: load and validate a 2,000-model manifest.

Run from the repository root:

    python benchmarks/bench_manifest.py            # 2,000 models, best of 5 runs
    python benchmarks/bench_manifest.py --models 10000 --runs 3

The manifest mixes every kind of entry: registry models (some pinned, warmed,
aliased), structured custom models built on them, inline Modelfiles, Modelfiles
on disk, and models to delete. It prints the file size and the time per load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provisioner.manifest.load import load_manifest


def write_manifest(folder: Path, count: int) -> Path:
    (folder / "modelfiles").mkdir()
    (folder / "modelfiles" / "bot.Modelfile").write_text(
        "FROM registry-0\nSYSTEM You are a helpful bot.\nPARAMETER temperature 0.2\n"
    )
    lines = [
        "version: 1",
        "server:",
        "  host: http://localhost:11434",
        "  timeout: 30s",
        "defaults:",
        "  keep_alive: 5m",
        "models:",
    ]
    for i in range(count):
        kind = i % 5
        if kind == 0:
            lines += [
                f"  - name: team/registry-{i}:v{i % 7}",
                f"    digest: sha256:{i:064x}",
                "    warm: true",
                "    keep_alive: 30m",
                f"    aliases: [alias-{i}, team/alias-{i}:stable]",
            ]
        elif kind == 1:
            lines += [
                f"  - name: custom-{i}",
                f"    from: team/registry-{i - 1}:v{(i - 1) % 7}",
                "    system: Reply with JSON only.",
                "    parameters: {temperature: 0.3, num_ctx: 8192, stop: ['</s>']}",
                "    messages:",
                "      - {role: user, content: hi}",
                "      - {role: assistant, content: hello}",
            ]
        elif kind == 2:
            lines += [
                f"  - name: inline-{i}",
                "    modelfile: |",
                f"      FROM custom-{i - 1}",
                "      PARAMETER top_k 40",
                "      SYSTEM Be brief.",
            ]
        elif kind == 3:
            lines += [f"  - name: disk-{i}", "    modelfile_path: modelfiles/bot.Modelfile"]
        else:
            lines += [f"  - name: old-{i}:latest", "    state: absent"]
    path = folder / "models.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_manifest(Path(tmp), args.models)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            manifest = load_manifest(path, env={})
            times.append(time.perf_counter() - start)
        size = path.stat().st_size
    print(
        f"{len(manifest.models)} models, {size / 1024:.0f} KiB: "
        f"best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
        f"over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
