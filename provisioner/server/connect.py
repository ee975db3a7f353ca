"""A client for the server a manifest (or --host, or OLLAMA_HOST) points at."""

from __future__ import annotations

from provisioner.manifest.load import Manifest, ServerSettings
from provisioner.server.client import DEFAULT_STALL, DEFAULT_TIMEOUT, Client
from provisioner.server.hosts import ResolvedHost, resolve_host


def connect(
    manifest: Manifest | None, host: str | None, *, stall_timeout: float = DEFAULT_STALL
) -> tuple[Client, ResolvedHost]:
    """Resolve the host (--host > manifest > OLLAMA_HOST > default) and open a client
    with the manifest's headers and timeout."""
    server = manifest.server if manifest is not None else ServerSettings()
    target = resolve_host(host, server.host)
    client = Client(
        target.url,
        headers=server.headers,
        timeout=server.timeout or DEFAULT_TIMEOUT,
        stall_timeout=stall_timeout,
    )
    return client, target
