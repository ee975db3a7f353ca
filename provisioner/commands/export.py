"""`export [--output-file FILE]`: write a manifest that reproduces a running server.

One GET /api/tags, one POST /api/show per distinct digest (concurrently), and,
only for a custom or local-file model with a name on a registry host of its
own, one manifest GET to that registry (never to ollama.com). The rules (aliases,
custom or registry, insecure, local files) are in export_manifest.py. Without
--output-file the manifest goes to stdout; either way it is validated first,
and a file is written atomically and never replaced without --force.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from provisioner import exit_codes
from provisioner.custom.blobs import show_weights
from provisioner.errors import ServerError
from provisioner.export.build import (
    Export,
    Group,
    build_export,
    group_tags,
    plain_http_likely,
)
from provisioner.export.render import render
from provisioner.manifest.files import WouldOverwrite, check_manifest_text, write_manifest
from provisioner.names import DEFAULT_HOST
from provisioner.server.client import Client, ShowResult
from provisioner.server.hosts import resolve_host
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


def _summary(export: Export, where: str) -> list[str]:
    registry, custom = export.of_kind("registry"), export.of_kind("custom")
    aliases = sum(len(m.group.aliases) for m in (*registry, *custom))
    lines = [
        f"exported {len(registry) + len(custom)} model(s) to {where}: "
        f"{len(registry)} registry, {len(custom)} custom, {aliases} alias(es)"
    ]
    for model in export.of_kind("unreproducible"):
        reason = model.notes[0] if model.notes else "cannot be reproduced"
        lines.append(f"warning: {model.group.canonical.display} written commented out: {reason}")
    for name in export.skipped:
        lines.append(f"warning: skipped {name!r}: not a valid model name")
    return lines


def run(output_file: str | None, *, host: str | None, force: bool, quiet: bool) -> int:
    target = resolve_host(host, None)
    path = Path(output_file) if output_file else None
    if path is not None and path.exists() and not force:
        click.echo(f"error: {path} exists; use --force to replace it", err=True)
        return exit_codes.USAGE
    if target.note and not quiet:
        click.echo(f"note: {target.note}", err=True)
    with Client(target.url) as client:
        export, version = read_export(client)
    text = render(export, source=target.url, server_version=version)
    try:
        if path is None:
            check_manifest_text(text)
            click.echo(text, nl=False)
        else:
            write_manifest(path, text, force=force)
    except WouldOverwrite as e:
        click.echo(f"error: {e}", err=True)
        return exit_codes.USAGE
    if not quiet:
        for line in _summary(export, str(path) if path else "stdout"):
            click.echo(line, err=True)
    return exit_codes.OK
