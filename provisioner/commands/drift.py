"""`drift FILE`: the CI check. Exit (exit_codes.drift_exit) 3 when the server differs
from the manifest (or its lock), 1 when something could not be checked, 0 otherwise."""

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


def run(file: str, settings: core.Settings, opts: GlobalOptions) -> int:
    if opts.fleet or opts.output is Output.OPENMETRICS:  # openmetrics: a fleet of one
        from provisioner.commands import fleet

        return fleet.drift(file, settings, opts)
    manifest = load_manifest(file)
    planned = core.plan(manifest, settings, core.Hooks(on_retry=echo_retry if opts.text else None))
    if opts.output is Output.JSON:
        echo_document(json_docs.drift_document(planned))
    elif opts.output is Output.MARKDOWN:
        click.echo(markdown.drift_document(planned), nl=False)
    else:
        echo_notes(manifest, planned.target)
        echo_lines(text.drift_lines(planned, verbose=opts.verbose, quiet=opts.quiet))
        echo_lines(text.failure_lines(planned.plan), err=True)
    return exit_codes.drift_exit(planned.plan, planned.drifts)
