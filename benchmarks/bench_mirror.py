"""mirror between real registries and an OCI layout, next to crane copying the same.

Starts the test bed's registry filled with the catalog plus a 200 MB model, then
times, side by side in one run (each destination fresh, BENCH_RUNS runs, default 2):
  ollama-provision mirror FILE --to REGISTRY      registry -> empty registry
  crane copy (one per model)                     the same models, the same way
  ollama-provision mirror FILE --to oci:DIR       registry -> layout on disk
  ollama-provision mirror --from oci:DIR --to R   layout -> empty registry
  the same mirror again                          everything already there
and a killed run: the registry -> registry mirror is SIGKILLed 5 s in (the
200 MB layer on the wire), then rerun; it prints the bytes the rerun sent next to
what was missing. The source serves blobs at the test bed's throttled rate
(nginx, 20 MB/s per connection), like a remote registry would.
Run: .venv/bin/python -m benchmarks.bench_mirror
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.timing import ollama_provision
from provisioner.views.units import human_size as human
from tests.testbed.build import ensure_go_tool
from tests.testbed.ollama_server import start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import CATALOG, SeedModel, fill_registry, push_model

RUNS = int(os.environ.get("BENCH_RUNS", "2"))
ACCEPT = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}


def _blobs(host: str, repository: str, tag: str) -> dict[str, int]:
    doc = httpx.get(f"http://{host}/v2/{repository}/manifests/{tag}", headers=ACCEPT).json()
    return {p["digest"]: p["size"] for p in [doc["config"], *doc["layers"]]}


def _received(registry: Registry, since: int = 0) -> int:
    """Blob bytes the registry was sent after request `since` (the PATCH and PUT
    bodies of uploads it accepted: crane sends chunks, we send one PUT)."""
    return sum(
        r.body_bytes
        for r in registry.requests()[since:]
        if r.blob_upload and r.status in (201, 202)
    )


def _timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-mirror-"))
    source = start_registry(work / "source")
    seed = start_server("0.11.4", work / "seed")
    destinations: list[Registry] = []

    def fresh() -> Registry:
        registry = start_registry(work / f"dest-{len(destinations)}", log_requests=True)
        destinations.append(registry)
        return registry

    try:
        fill_registry(seed, source.host)
        push_model(seed, source.host, SeedModel("library/big", "latest", "large", 0))
        seed.stop()
        models = [(m.repository, m.tag) for m in CATALOG] + [("library/big", "latest")]
        total: dict[str, int] = {}
        for repository, tag in models:
            total |= _blobs(source.host, repository, tag)
        manifest = work / "models.yaml"
        manifest.write_text(
            "version: 1\nmodels:\n"
            + "".join(f"  - name: {source.host}/{r}:{t}\n    insecure: true\n" for r, t in models)
        )
        tool, crane = ollama_provision(), str(ensure_go_tool("crane"))
        print(f"{len(models)} models, {len(total)} blobs, {human(sum(total.values()))}")
        rows: list[tuple[str, list[float], str]] = []

        def row(label: str, make: Callable[[], tuple[float, str]]) -> None:
            times, said = [], ""
            for _ in range(RUNS):
                seconds, said = make()
                times.append(seconds)
            rows.append((label, times, said))

        def to_registry() -> tuple[float, str]:
            dest = fresh()
            cmd = [*tool, "mirror", str(manifest), "--to", dest.host, "--to-insecure"]
            seconds, _ = _timed(cmd)
            return seconds, f"{human(_received(dest))} received"

        def with_crane() -> tuple[float, str]:
            dest = fresh()
            started = time.perf_counter()
            for repository, tag in models:
                ref = f"{repository}:{tag}"
                _timed([crane, "copy", "--insecure", f"{source.host}/{ref}", f"{dest.host}/{ref}"])
            return time.perf_counter() - started, f"{human(_received(dest))} received"

        layout = work / "layout"

        def to_layout() -> tuple[float, str]:
            shutil.rmtree(layout, ignore_errors=True)
            seconds, _ = _timed([*tool, "mirror", str(manifest), "--to", f"oci:{layout}"])
            size = sum(p.stat().st_size for p in layout.rglob("*") if p.is_file())
            return seconds, f"{human(size)} on disk"

        def from_layout() -> tuple[float, str]:
            dest = fresh()
            cmd = [*tool, "mirror", "--from", f"oci:{layout}", "--to", dest.host, "--to-insecure"]
            seconds, _ = _timed(cmd)
            again, _ = _timed(cmd)
            before = len(dest.requests())
            _timed(cmd)
            return seconds, f"rerun {again:.2f} s, {human(_received(dest, before))} sent"

        row("mirror registry -> registry", to_registry)
        row("crane copy, one per model", with_crane)
        row("mirror registry -> oci layout", to_layout)
        row("mirror oci layout -> registry", from_layout)
        print(f"\n{'':32} {'best s':>8} {'median s':>9} {'runs':>5}  result")
        for label, times, said in rows:
            ordered = sorted(times)
            best, median = ordered[0], ordered[len(ordered) // 2]
            print(f"{label:32} {best:8.2f} {median:9.2f} {len(times):5}  {said}")

        # A killed run, then the rerun: what did the rerun send?
        dest = fresh()
        cmd = [*tool, "mirror", str(manifest), "--to", dest.host, "--to-insecure", "-o", "json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip
        time.sleep(5)  # the 200 MB layer takes 10 s at the source's 20 MB/s
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        had = _received(dest)
        before = len(dest.requests())
        _, out = _timed(cmd)
        sent = _received(dest, before)
        totals = json.loads(out)["totals"]
        print(
            f"\nkilled after {human(had)} of {human(sum(total.values()))} had arrived; "
            f"the rerun sent {human(sent)} (missing: {human(sum(total.values()) - had)}; "
            f"it reports {human(totals['bytes_copied'])} copied, "
            f"{human(totals['bytes_skipped'])} skipped)"
        )
    finally:
        for registry in (source, *destinations):
            registry.stop()
        seed.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
