"""`status [FILE]`: every model on the server, whether it is loaded, and — given a
manifest — whether it is declared and in sync."""

from __future__ import annotations

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines, echo_notes
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.views import json_docs, text
from provisioner.views.formats import Output


def run(file: str | None, settings: core.Settings, opts: GlobalOptions) -> int:
    if opts.fleet or opts.output is Output.MARKDOWN:  # markdown: the matrix of a fleet of one
        from provisioner.commands import fleet

        return fleet.status(file, settings, opts)
    manifest = load_manifest(file) if file else None
    report = core.status(manifest, settings)
    if opts.output is Output.JSON:
        echo_document(json_docs.status_document(report))
    else:
        echo_notes(manifest, report.target)
        echo_lines(text.lock_lines(report.lock), err=True)
        echo_lines(text.status_lines(report))
    return exit_codes.OK
