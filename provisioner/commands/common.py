"""What the commands share: printing lines and documents, and the notes every run gives."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from provisioner import exit_codes
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
    if target is not None and target.note:
        click.echo(f"note: {target.note}", err=True)


def echo_retry(event: RetryEvent) -> None:
    """Retries are visible: one line on stderr as each happens."""
    from provisioner.views.text import retry_line

    click.echo(retry_line(event), err=True)


def _usage_error(e: BaseException) -> bool:
    from provisioner.errors import (
        LockError,
        ManifestError,
        ModelfileError,
        UsageError,
        WouldOverwrite,
    )

    return isinstance(e, (ManifestError, ModelfileError, LockError, UsageError, WouldOverwrite))


def error_lines(e: BaseException) -> list[str]:
    """An error as the lines the user reads: one, except a manifest's list of problems."""
    from provisioner.errors import ManifestError, ProvisionError, Refused

    if isinstance(e, ManifestError):
        return [f"error: {p}" for p in e.problems] or [f"error: {e}"]
    if isinstance(e, Refused):
        return [f"refusing to apply: {r}" for r in e.reasons] + ["apply --locked: nothing changed"]
    if isinstance(e, ProvisionError):
        return [f"error: {e}"]
    if isinstance(e, OSError):  # a file we were told to read or write
        where = f" {e.filename}" if e.filename else ""
        return [f"error:{where}: {e.strerror or e}"]
    return [f"error: unexpected {type(e).__name__}: {e} (rerun with --verbose and report it)"]


def exit_code_for(e: BaseException) -> int:
    """2 for what the user must fix in what they gave us, 1 for what failed, 130 for ^C."""
    if isinstance(e, KeyboardInterrupt):
        return exit_codes.INTERRUPTED
    return exit_codes.USAGE if _usage_error(e) else exit_codes.FAILED
