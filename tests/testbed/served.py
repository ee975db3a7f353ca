"""What the test bed's registry serves, asked directly: the ground truth tests and
the reliability benchmark compare a server's models with."""

from __future__ import annotations

import httpx

from tests.testbed.ollama_server import OllamaServer

MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"


def served_digest(registry_host: str, name: str) -> str:
    """The hex digest the registry serves for NAME's tag (host/namespace/model:tag)."""
    path, _, tag = name.split("/", 1)[1].rpartition(":")
    answer = httpx.get(
        f"http://{registry_host}/v2/{path}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.headers["Docker-Content-Digest"].removeprefix("sha256:")


def not_converged(server: OllamaServer, registry_host: str, names: list[str]) -> list[str]:
    """The names the server lacks or holds at another digest than the registry's."""
    held = server.tags()
    return [n for n in names if held.get(n) != served_digest(registry_host, n)]
