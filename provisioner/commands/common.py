"""What the commands share: printing lines and documents, and the notes every run gives."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from provisioner.server.hosts import ResolvedHost
from provisioner.server.retry import RetryEvent
from provisioner.types.manifest import Manifest


def echo_lines(lines: Iterable[str], *, err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def echo_document(doc: dict[str, Any]) -> None:
    click.echo(json.dumps(doc))


def echo_notes(manifest: Manifest | None, target: ResolvedHost | None) -> None:
    """Manifest warnings and a rewritten host, on stderr, before anything else."""
    for warning in manifest.warnings if manifest else ():
        click.echo(f"warning: {warning}", err=True)
    for note in target.notes if target is not None else ():
        click.echo(f"note: {note}", err=True)


def echo_retry(event: RetryEvent) -> None:
    """Retries are visible: one line on stderr as each happens."""
    from provisioner.views.text import retry_line

    click.echo(retry_line(event), err=True)
