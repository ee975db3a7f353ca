"""One real Ollama server: its own models folder, HOME and loopback port."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.testbed.build import ensure_ollama
from tests.testbed.ports import free_port, wait_until_up
from tests.testbed.processes import kill_hard, spawn, stop


@dataclass
class OllamaServer:
    version: str
    binary: Path
    workdir: Path
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models"

    @property
    def log_path(self) -> Path:
        return self.workdir / "ollama.log"

    def env(self) -> dict[str, str]:
        """Environment for the server and for its CLI talking to it."""
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HOME": str(home),  # the server writes its key pair under $HOME/.ollama
            "OLLAMA_HOST": f"127.0.0.1:{self.port}",
            "OLLAMA_MODELS": str(self.models_dir),
            **self.extra_env,
        }

    def start(self) -> OllamaServer:
        self.proc = spawn([str(self.binary), "serve"], log=self.log_path, env=self.env())
        proc = self.proc
        wait_until_up(self.url + "/", alive=lambda: proc.poll() is None)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def kill(self) -> None:
        """Die the way a crash does, without a chance to clean up."""
        if self.proc is not None:
            kill_hard(self.proc)
            self.proc = None

    def cli(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        """Run this build's own `ollama` CLI against this server (the reference client)."""
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"ollama {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout + result.stderr

    def requests(self) -> list[tuple[int, str, str]]:
        """(status, method, path) of every request the server has logged so far."""
        if not self.log_path.exists():
            return []
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("[GIN]"):
                fields = [f.strip() for f in line.split("|")]
                method, _, path = fields[-1].partition(" ")
                found.append((int(fields[1]), method, path.strip().strip('"')))
        return found

    def settled_requests(self) -> list[tuple[int, str, str]]:
        """requests(), once the log stops growing (Gin logs just after answering)."""
        seen = self.requests()
        for _ in range(20):
            time.sleep(0.1)
            now = self.requests()
            if now == seen:
                return now
            seen = now
        return seen

    def tags(self) -> dict[str, str]:
        """{name: digest} of every model, as GET /api/tags lists them."""
        models = httpx.get(self.url + "/api/tags", timeout=30).json()["models"] or []
        return {m["name"]: m["digest"] for m in models}

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_server(
    version: str, workdir: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> OllamaServer:
    server = OllamaServer(
        version=version,
        binary=ensure_ollama(version),
        workdir=workdir,
        port=port or free_port(),
        extra_env=env or {},
    )
    return server.start()
