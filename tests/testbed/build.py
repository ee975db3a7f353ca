"""Build Ollama releases from the Go module proxy, once, into a cache folder.

v0.11.4 is the pinned server: its module builds a CPU-capable server with cgo.
NEWEST is the newest release that compiles from the module proxy with no
native steps beyond cgo. It pulls, creates (also from a GGUF), copies and
deletes, but cannot run a model (its llama-server payload is built by cmake),
so only model-management tests use it. Checked on 2026-11-25: v0.34.4 is the
newest tag the proxy serves (v0.34.5, v0.35.0 and later do not exist there)
and builds with one `go install`; v0.32.15 built the same way.

Next to each Ollama binary: `modelfile-parser` (source in modelfile_parser/),
a small program over Ollama's own `parser` package of the same release, the
reference our Modelfile parser is compared with. It is built in a scratch
module whose go.mod requires github.com/ollama/ollama at that version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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


PARSER_SOURCE = Path(__file__).resolve().parent / "modelfile_parser" / "main.go"


def parser_path(version: str) -> Path:
    return cache_dir() / "bin" / f"modelfile-parser-{version}" / "modelfile-parser"


def ensure_parser(version: str) -> Path:
    """Ollama's Modelfile parser of `version`, as a program (built once per source change)."""
    binary = parser_path(version)
    stamp = binary.with_name("source.go")
    source = PARSER_SOURCE.read_text()
    if binary.exists() and stamp.exists() and stamp.read_text() == source:
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    log = cache_dir() / f"build-modelfile-parser-{version}.log"
    go_mod = f"module modelfileparser\n\ngo 1.24\n\nrequire github.com/ollama/ollama v{version}\n"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    print(f"building modelfile-parser over ollama v{version} (log: {log})", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch, log.open("w") as out:
        shutil.copy(PARSER_SOURCE, Path(scratch) / "main.go")
        (Path(scratch) / "go.mod").write_text(go_mod)
        for cmd in (["go", "mod", "tidy"], ["go", "build", "-o", str(binary), "."]):
            result = subprocess.run(cmd, env=env, cwd=scratch, stdout=out, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                tail = log.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError("building modelfile-parser failed:\n" + "\n".join(tail))
    stamp.write_text(source)
    return binary


# Go programs the fleet and mirror tests drive for real, pinned, built once through
# the module proxy. helm v4 is what the module list here recommends over v3 (v3.22.0
# is served but not approved); `lint` and `template` behave the same for our chart.
GO_TOOLS = {
    "helm": "helm.sh/helm/v4/cmd/helm@v4.3.2",
    "crane": "github.com/google/go-containerregistry/cmd/crane@v0.22.1",
}


def go_tool_path(name: str) -> Path:
    version = GO_TOOLS[name].rsplit("@", 1)[1]
    return cache_dir() / "bin" / f"{name}-{version}" / name


def ensure_go_tool(name: str) -> Path:
    """Return the binary for `name` (a key of GO_TOOLS), building it first if not cached."""
    binary = go_tool_path(name)
    if binary.exists():
        return binary
    log = cache_dir() / f"build-{name}.log"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOBIN": str(binary.parent)}
    print(f"building {name} (first time only; log: {log})", file=sys.stderr)
    with log.open("w") as out:
        result = subprocess.run(
            ["go", "install", GO_TOOLS[name]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd="/",
        )
    if result.returncode != 0 or not binary.exists():
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"building {name} failed:\n" + "\n".join(tail))
    return binary
