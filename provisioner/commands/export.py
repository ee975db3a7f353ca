"""`export [--output-file FILE]`: write a manifest that reproduces a running server.

How the server is read is export/read.py; the rules (aliases, custom or
registry, insecure, local files) are export/build.py. Without --output-file
the manifest goes to stdout; either way it is validated first, and a file is
written atomically and never replaced without --force.
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines, echo_notes
from provisioner.errors import WouldOverwrite
from provisioner.export.read import read_export
from provisioner.export.render import render
from provisioner.manifest.files import check_manifest_text, write_manifest
from provisioner.server.connect import connect
from provisioner.views import json_docs, text


def run(
    output_file: str | None,
    *,
    host: str | None,
    force: bool,
    quiet: bool,
    output: str,
    exact: bool = False,
) -> int:
    path = Path(output_file) if output_file else None
    if path is not None and path.exists() and not force:
        raise WouldOverwrite(f"{path} exists; use --force to replace it")
    client, target = connect(None, host)
    if not quiet and output == "text":
        echo_notes(None, target)
    writes: list[str] = []
    with client:
        export, version = read_export(client, exact=exact, on_write=writes.append)
    if not quiet and output == "text":  # stderr: stdout may be the manifest itself
        click.echo(text.server_line(target, version), err=True)
    manifest = render(export, source=target.url, server_version=version)
    if path is None:
        check_manifest_text(manifest)
    else:
        write_manifest(path, manifest, force=force)
    if output == "json":
        echo_document(json_docs.export_document(export, target.url, path, manifest, writes))
        return exit_codes.OK
    if path is None:
        click.echo(manifest, nl=False)
    if not quiet:
        echo_lines([f"export --exact: {line}" for line in writes], err=True)
        echo_lines(text.export_lines(export, str(path) if path else "stdout"), err=True)
    return exit_codes.OK
