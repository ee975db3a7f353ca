"""Build Ollama releases from the Go module proxy, once, into a cache folder.

v0.11.4 is the pinned server: its module builds a CPU-capable server with cgo.
NEWEST is the newest release that compiles from the module proxy with no
native steps beyond cgo. It pulls, creates (also from a GGUF), copies and
deletes, but cannot run a model (its llama-server payload is built by cmake),
so only model-management tests use it. Checked on 2026-11-25: v0.34.4 is the
newest tag the proxy serves (v0.34.5, v0.35.0 and later do not exist there)
and builds with one `go install`; v0.32.15 built the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PINNED = "0.11.4"
NEWEST = "0.34.4"
VERSIONS = (PINNED, NEWEST)


def cache_dir() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def binary_path(version: str) -> Path:
    return cache_dir() / "bin" / f"ollama-{version}" / "ollama"


def ensure_ollama(version: str) -> Path:
    """Return the binary for `version`, building it first if it is not cached."""
    binary = binary_path(version)
    if binary.exists():
        return binary
    log = cache_dir() / f"build-{version}.log"
    env = {
        **os.environ,
        "CGO_ENABLED": "1",
        "GOFLAGS": "-mod=mod",
        "GOBIN": str(binary.parent),
    }
    ldflags = f"-X github.com/ollama/ollama/version.Version={version}"
    cmd = ["go", "install", "-ldflags", ldflags, f"github.com/ollama/ollama@v{version}"]
    print(f"building ollama v{version} (first time only; log: {log})", file=sys.stderr)
    with log.open("w") as out:
        result = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/")
    if result.returncode != 0 or not binary.exists():
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"building ollama v{version} failed:\n" + "\n".join(tail))
    return binary
