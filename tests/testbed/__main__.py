"""python -m tests.testbed build|up|down|env|demo

build  build (or find cached) the Ollama binaries and report their versions
up     start a filled registry and an empty Ollama server; idempotent
env    print shell exports for the running test bed (eval "$(... env)")
down   stop everything `up` started
demo   up, then apply examples/demo.yaml twice against a fresh server
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.testbed.build import (
    GO_TOOLS,
    PINNED,
    VERSIONS,
    binary_path,
    cache_dir,
    ensure_go_tool,
    ensure_ollama,
    ensure_parser,
)
from tests.testbed.ollama_server import start_server
from tests.testbed.registry import start_registry
from tests.testbed.seed import fill_registry

ROOT = Path(__file__).resolve().parents[2]


def _state_file() -> Path:
    return cache_dir() / "testbed-run" / "state.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _load_state() -> dict[str, object] | None:
    path = _state_file()
    if not path.exists():
        return None
    state: dict[str, object] = json.loads(path.read_text())
    pids = state.get("pids", [])
    if isinstance(pids, list) and pids and all(_alive(int(p)) for p in pids):
        return state
    return None


def build() -> None:
    for version in VERSIONS:
        binary = ensure_ollama(version)
        # With no server to ask, `ollama --version` prints "client version is X".
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
        text = out.stdout + out.stderr
        reported = text.rsplit("version is", 1)[-1].strip() if "version is" in text else text
        print(f"ollama v{version}: {binary} (reports version {reported})")
        print(f"modelfile-parser over ollama v{version}: {ensure_parser(version)}")
    for name in GO_TOOLS:
        print(f"{name} ({GO_TOOLS[name]}): {ensure_go_tool(name)}")


def up() -> dict[str, object]:
    state = _load_state()
    if state is not None:
        return state
    down(quiet=True)
    run = _state_file().parent
    shutil.rmtree(run, ignore_errors=True)
    print("starting registry and filling it with tiny models...", file=sys.stderr)
    registry = start_registry(run / "registry")
    seed = start_server(PINNED, run / "seed")
    names = fill_registry(seed, registry.host)
    seed.stop()
    server = start_server(PINNED, run / "server")
    assert server.proc is not None
    state = {
        "registry": registry.host,
        "ollama_host": server.url,
        "ollama_version": PINNED,
        "ollama_binary": str(binary_path(PINNED)),
        "models_dir": str(server.models_dir),
        "registry_models": names,
        "pids": [server.proc.pid, *[p.pid for p in registry.procs]],
    }
    _state_file().write_text(json.dumps(state, indent=2))
    return state


def down(quiet: bool = False) -> None:
    path = _state_file()
    if not path.exists():
        return
    for pid in json.loads(path.read_text()).get("pids", []):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid), signal.SIGTERM)
    path.unlink()
    if not quiet:
        print("test bed stopped")


def env_lines(state: dict[str, object]) -> list[str]:
    return [
        f"export OLLAMA_HOST={state['ollama_host']}",
        f"export DEMO_REGISTRY={state['registry']}",
    ]


def demo() -> int:
    state = up()
    host = str(state["ollama_host"])
    # A fresh server for every demo: remove whatever an earlier demo pulled.
    for model in httpx.get(f"{host}/api/tags").json().get("models") or []:
        httpx.request("DELETE", f"{host}/api/delete", json={"model": model["name"]})
    env = {**os.environ, "OLLAMA_HOST": host, "DEMO_REGISTRY": str(state["registry"])}
    tool = [sys.executable, "-m", "provisioner"]
    manifest = str(ROOT / "examples" / "demo.yaml")
    for attempt in ("first apply: pulls what is missing", "second apply: nothing to do"):
        print(f"\n$ ollama-provision apply examples/demo.yaml   # {attempt}", flush=True)
        rc = subprocess.run([*tool, "apply", manifest], env=env).returncode
        print(f"(exit {rc})", flush=True)
        if rc != 0:
            return rc
    print("\n$ ollama list   # the real Ollama CLI, on the demo server", flush=True)
    subprocess.run([str(state["ollama_binary"]), "list"], env=env)
    print("\nThe test bed is still running. To use it yourself:")
    for line in env_lines(state):
        print(f"  {line}")
    print("  .venv/bin/ollama-provision apply examples/demo.yaml")
    print("Stop it with: make down")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "--help"
    if command == "build":
        build()
    elif command == "up":
        print("\n".join(env_lines(up())))
    elif command == "env":
        state = _load_state()
        if state is None:
            print(
                "the test bed is not running; start it with: python -m tests.testbed up",
                file=sys.stderr,
            )
            return 1
        print("\n".join(env_lines(state)))
    elif command == "down":
        down()
    elif command == "demo":
        return demo()
    else:
        print(__doc__)
        return 0 if command in ("-h", "--help") else 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
