"""Read a running server into an Export: one GET /api/tags, one POST /api/show per
distinct digest (concurrently), and, only for a custom or local-file model with a
name on a registry host of its own, one manifest GET to that registry (never to
ollama.com). The rules themselves live in export/build.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from provisioner.custom.blobs import show_weights
from provisioner.errors import ServerError
from provisioner.export.build import Export, Group, build_export, group_tags, plain_http_likely
from provisioner.names import DEFAULT_HOST
from provisioner.server.client import Client, ShowResult
from provisioner.server.registry import fetch_manifest


def _shows(client: Client, groups: tuple[Group, ...], parallel: int = 4) -> dict[str, ShowResult]:
    if not groups:
        return {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {g.digest: pool.submit(client.show, g.canonical.display) for g in groups}
        return {digest: future.result() for digest, future in futures.items()}


def _registry_serves(group: Group, show: ShowResult) -> bool:
    """Whether a registry one of the names points at serves this very model (it was pushed)."""
    weights = show_weights(show).model
    for name in group.names:
        if name.host.lower() == DEFAULT_HOST:
            continue  # export never contacts ollama.com
        try:
            remote = fetch_manifest(name, insecure=plain_http_likely(name.host), timeout=5.0)
        except ServerError:
            continue
        if remote.matches(group.digest) or (weights is not None and weights in remote.layers):
            return True
    return False


def read_export(client: Client) -> tuple[Export, str]:
    """The export of the server behind client, and the server's version."""
    version = client.version()
    groups, skipped = group_tags(client.tags())
    shows = _shows(client, groups)
    export = build_export(groups, shows, skipped=skipped, registry_serves=_registry_serves)
    return export, version
