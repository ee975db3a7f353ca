"""`warm FILE`: load every `warm: true` model into memory and report its expiry."""

from __future__ import annotations

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_notes, echo_retry
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.views import json_docs, text


def run(file: str, settings: core.Settings, opts: GlobalOptions) -> int:
    if opts.fleet:
        from provisioner.commands import fleet

        return fleet.warm(file, settings, opts)
    manifest = load_manifest(file)

    def show_server(planned: core.Planned) -> None:
        echo_notes(manifest, planned.target)
        click.echo(text.server_line(planned.target, planned.plan.server_version))

    hooks = core.Hooks(
        on_plan=show_server if opts.text else None,
        on_result=(lambda r: click.echo(text.result_line(r))) if opts.text else None,
        on_retry=echo_retry if opts.text else None,
    )
    applied = core.warm(manifest, settings, hooks)
    if not opts.text:
        echo_document(json_docs.warm_document(applied))
    elif not applied.results:
        click.echo("nothing to warm: no model has warm: true")
    return exit_codes.apply_exit(applied.outcome)
