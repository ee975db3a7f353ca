"""`drift FILE`: the CI check. Exit 3 when the server differs from the manifest
(or its lock), 1 when something could not be checked, 0 otherwise."""

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
    verbose: bool = False,
    quiet: bool = False,
) -> int:
    manifest = load_manifest(file)
    hooks = core.Hooks(on_retry=echo_retry if output == "text" else None)
    planned = core.plan(manifest, settings, hooks)
    plan = planned.plan
    if output == "json":
        echo_document(json_docs.drift_document(planned))
    elif output == "markdown":
        click.echo(markdown.drift_document(planned), nl=False)
    else:
        echo_notes(manifest, planned.target)
        echo_lines(text.drift_lines(planned, verbose=verbose, quiet=quiet))
        echo_lines(text.failure_lines(plan), err=True)
    if any(f.drift is None for f in plan.failures):
        return exit_codes.FAILED
    # planned.drifts, not plan.drifts: a manifest that differs from its lock is drift too
    return exit_codes.DRIFT if any(d.kind != "extra" for d in planned.drifts) else exit_codes.OK
