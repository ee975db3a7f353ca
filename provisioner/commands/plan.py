"""`plan FILE`: what apply would do and why. Exit (exit_codes.plan_exit) 1 if the plan
holds a failure; with --exit-code, 3 when changes are pending (warm-ups are not changes)."""

from __future__ import annotations

import click

from provisioner import exit_codes
from provisioner.commands.common import (
    echo_document,
    echo_lines,
    echo_notes,
    echo_retry,
)
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.views import json_docs, markdown, text
from provisioner.views.formats import Output


def run(file: str, settings: core.Settings, opts: GlobalOptions, *, exit_code: bool) -> int:
    if opts.fleet:
        from provisioner.commands import fleet

        return fleet.plan(file, settings, opts, exit_code=exit_code)
    manifest = load_manifest(file)
    planned = core.plan(manifest, settings, core.Hooks(on_retry=echo_retry if opts.text else None))
    if opts.output is Output.JSON:
        echo_document(json_docs.plan_document(planned))
    elif opts.output is Output.MARKDOWN:
        click.echo(markdown.plan_document(planned), nl=False)
    else:
        echo_notes(manifest, planned.target)
        echo_lines(text.plan_lines(planned, verbose=opts.verbose, quiet=opts.quiet))
    return exit_codes.plan_exit(planned.plan, exit_code=exit_code)
