"""`plan FILE`: what apply would do and why. Exit 1 if the plan holds a failure;
with --exit-code, 3 when changes are pending (warm-ups are not changes)."""

from __future__ import annotations

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines, echo_notes, echo_retry
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.views import json_docs, markdown, text


def run(
    file: str,
    settings: core.Settings,
    *,
    output: str,
    exit_code: bool,
    verbose: bool = False,
    quiet: bool = False,
) -> int:
    manifest = load_manifest(file)
    hooks = core.Hooks(on_retry=echo_retry if output == "text" else None)
    planned = core.plan(manifest, settings, hooks)
    if output == "json":
        echo_document(json_docs.plan_document(planned))
    elif output == "markdown":
        click.echo(markdown.plan_document(planned), nl=False)
    else:
        echo_notes(manifest, planned.target)
        echo_lines(text.plan_lines(planned, verbose=verbose, quiet=quiet))
    if planned.plan.failures:
        return exit_codes.FAILED
    return exit_codes.DRIFT if exit_code and planned.plan.changes else exit_codes.OK
