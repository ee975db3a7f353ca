"""A real model registry: Debian's docker-registry (CNCF distribution) on loopback.

Ollama fetches a blob by GETting it and expecting a redirect to a *different
host name* (server/download.go); a filesystem registry answers 200 with the
bytes instead. We keep the real registry and use its own `redirect` storage
middleware, pointed at nginx serving the storage folder under `localhost`,
while the registry itself is addressed as `127.0.0.1`. Ranged GETs then go to
nginx, which supports Range.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.testbed.ports import free_port, wait_until_up
from tests.testbed.processes import spawn, stop


@dataclass
class Registry:
    host: str  # "127.0.0.1:<port>", the name prefix models are pushed under
    storage: Path
    workdir: Path
    procs: tuple[subprocess.Popen[bytes], ...]

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)


def _require(tool: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if path is None:
        raise RuntimeError(f"{tool} is not installed; run scripts/bootstrap")
    return path


# Blob downloads are throttled per connection so a pull of a large model takes
# long enough to interrupt; tiny models still download in milliseconds.
BLOB_RATE = "20m"


def _nginx_conf(workdir: Path, storage: Path, port: int) -> Path:
    tmp = workdir / "nginx-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read registry files
    conf = workdir / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            daemon off;
            {user}
            worker_processes 1;
            pid {workdir}/nginx.pid;
            error_log {workdir}/nginx-error.log warn;
            events {{ worker_connections 256; }}
            http {{
                access_log {workdir}/nginx-access.log;
                default_type application/octet-stream;
                client_body_temp_path {tmp}/body;
                proxy_temp_path {tmp}/proxy;
                fastcgi_temp_path {tmp}/fastcgi;
                uwsgi_temp_path {tmp}/uwsgi;
                scgi_temp_path {tmp}/scgi;
                server {{
                    listen 127.0.0.1:{port};
                    root {storage};
                    location / {{ limit_rate {BLOB_RATE}; }}
                }}
            }}
            """
        )
    )
    return conf


def _registry_conf(workdir: Path, storage: Path, port: int, blob_port: int) -> Path:
    conf = workdir / "registry.yml"
    conf.write_text(
        textwrap.dedent(
            f"""\
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
              redirect:
                disable: false
            middleware:
              storage:
                - name: redirect
                  options:
                    baseurl: http://localhost:{blob_port}/
            http:
              addr: 127.0.0.1:{port}
            """
        )
    )
    return conf


def start_registry(workdir: Path) -> Registry:
    """Start nginx and the registry with throwaway storage under `workdir`."""
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    port, blob_port = free_port(), free_port()
    nginx = spawn(
        [
            _require("nginx"),
            "-p",
            str(workdir),
            "-c",
            str(_nginx_conf(workdir, storage, blob_port)),
        ],
        log=workdir / "nginx.log",
    )
    registry = spawn(
        [
            _require("docker-registry"),
            "serve",
            str(_registry_conf(workdir, storage, port, blob_port)),
        ],
        log=workdir / "registry.log",
    )
    reg = Registry(f"127.0.0.1:{port}", storage, workdir, (registry, nginx))
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v2/", alive=lambda: registry.poll() is None)
    except Exception:
        reg.stop()
        raise
    return reg
