"""A real model registry: Debian's docker-registry (CNCF distribution) on loopback.

Ollama fetches a blob by GETting it and expecting a redirect to a *different
host name* (server/download.go); a filesystem registry answers 200 with the
bytes instead. We keep the real registry and use its own `redirect` storage
middleware, pointed at nginx serving the storage folder under `localhost`,
while the registry itself is addressed as `127.0.0.1`. Ranged GETs then go to
nginx, which supports Range.

For the mirror tests a registry can also be started with htpasswd auth (bcrypt, as
the registry's own `auth: htpasswd` reads it) and behind a logging nginx proxy: its
`host` is then the proxy, whose access log records every request's method, path,
status and body length (`Registry.requests()`), so a test counts exactly the blob
bytes the registry was sent.
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
    credentials: tuple[str, str] | None = None  # (user, password) when htpasswd is on
    requests_log: Path | None = None  # the logging proxy's access log, when there is one

    def requests(self) -> list[LoggedRequest]:
        """Every request the logging proxy passed to the registry, in order."""
        if self.requests_log is None:
            raise RuntimeError("this registry was started without log_requests=True")
        if not self.requests_log.exists():
            return []
        lines = self.requests_log.read_text().splitlines()
        return [LoggedRequest.parse(line) for line in lines if line.strip()]

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    body_bytes: int  # the request's Content-Length (0 when it had none)
    digest: str | None = None  # an upload's ?digest= (the blob it commits)

    @property
    def blob_upload(self) -> bool:
        """A request that carries blob bytes: the PUT (or PATCH) of an upload."""
        return self.method in ("PUT", "PATCH") and "/blobs/uploads/" in self.path

    @staticmethod
    def parse(line: str) -> LoggedRequest:
        method, path, status, length, digest = line.split(" ")
        return LoggedRequest(
            method,
            path,
            int(status),
            int(length) if length != "-" else 0,
            digest.replace("%3A", ":").replace("%3a", ":") if digest != "-" else None,
        )


_REQUEST_FORMAT = "'$request_method $uri $status $content_length $arg_digest'"


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


def _front(workdir: Path, front_port: int | None, registry_port: int) -> str:
    """A logging reverse proxy in front of the registry (bodies streamed, never buffered)."""
    if front_port is None:
        return ""
    return f"""
        server {{
            listen 127.0.0.1:{front_port};
            access_log {workdir}/requests.log mirror;
            client_max_body_size 0;
            proxy_request_buffering off;
            proxy_buffering off;
            location / {{
                proxy_pass http://127.0.0.1:{registry_port};
                proxy_http_version 1.1;
                proxy_set_header Host $http_host;
                proxy_read_timeout 300s;
                proxy_send_timeout 300s;
            }}
        }}"""


def _nginx_conf(
    workdir: Path, storage: Path, port: int, front_port: int | None = None, registry_port: int = 0
) -> Path:
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
                log_format mirror {_REQUEST_FORMAT};
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
            """
        )
        + _front(workdir, front_port, registry_port)
        + "\n}\n"
    )
    return conf


def _htpasswd(workdir: Path, credentials: tuple[str, str] | None) -> str:
    """The registry's `auth:` section, with the bcrypt file it reads."""
    if credentials is None:
        return ""
    import bcrypt

    user, password = credentials
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    path = workdir / "htpasswd"
    path.write_text(f"{user}:{hashed}\n")
    return f"auth:\n  htpasswd:\n    realm: testbed\n    path: {path}\n"


def _registry_conf(
    workdir: Path,
    storage: Path,
    port: int,
    blob_port: int,
    credentials: tuple[str, str] | None = None,
) -> Path:
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
        + _htpasswd(workdir, credentials)
    )
    return conf


def start_registry(
    workdir: Path,
    *,
    credentials: tuple[str, str] | None = None,
    log_requests: bool = False,
) -> Registry:
    """Start nginx and the registry with throwaway storage under `workdir`.

    credentials: (user, password) turns on htpasswd auth. log_requests: the registry is
    reached through a logging proxy (then `host` is the proxy's address)."""
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    port, blob_port = free_port(), free_port()
    front_port = free_port() if log_requests else None
    nginx = spawn(
        [
            _require("nginx"),
            "-p",
            str(workdir),
            "-c",
            str(_nginx_conf(workdir, storage, blob_port, front_port, port)),
        ],
        log=workdir / "nginx.log",
    )
    registry = spawn(
        [
            _require("docker-registry"),
            "serve",
            str(_registry_conf(workdir, storage, port, blob_port, credentials)),
        ],
        log=workdir / "registry.log",
    )
    address = f"127.0.0.1:{front_port or port}"
    log = workdir / "requests.log" if log_requests else None
    reg = Registry(address, storage, workdir, (registry, nginx), credentials, log)
    login = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
    try:
        wait_until_up(
            f"http://{login}{address}/v2/",
            alive=lambda: registry.poll() is None and nginx.poll() is None,
        )
    except Exception:
        reg.stop()
        raise
    return reg
