"""A client for the server a manifest (or --host, or OLLAMA_HOST) points at."""

from __future__ import annotations

from provisioner.server.client import DEFAULT_STALL, DEFAULT_TIMEOUT, Client
from provisioner.server.hosts import ResolvedHost, resolve_host
from provisioner.server.retry import RetryCallback
from provisioner.types.manifest import Manifest, ServerSettings

# What to check when the server cannot be reached, by where its address came from.
HINTS = {
    "--host": "check --host",
    "manifest": "check server.host in the manifest",
    "OLLAMA_HOST": "check OLLAMA_HOST",
    "default": "start it with `ollama serve`, or set --host or OLLAMA_HOST",
}


def connect(
    manifest: Manifest | None,
    host: str | None,
    *,
    stall_timeout: float = DEFAULT_STALL,
    on_retry: RetryCallback | None = None,
    host_source: str = "--host",
) -> tuple[Client, ResolvedHost]:
    """Resolve the host (--host > manifest > OLLAMA_HOST > default) and open a client
    with the manifest's headers and timeout. host_source: where `host` came from."""
    server = manifest.server if manifest is not None else ServerSettings()
    target = resolve_host(host, server.host, cli_source=host_source)
    client = Client(
        target.url,
        headers=server.headers,
        timeout=server.timeout or DEFAULT_TIMEOUT,
        stall_timeout=stall_timeout,
        on_retry=on_retry,
        hint="; ".join((HINTS.get(target.source, f"check {target.source}"), *target.notes)),
    )
    return client, target
