"""`warm FILE`: load every `warm: true` model into memory and report its expiry."""

from __future__ import annotations

import json

import click

from provisioner import exit_codes
from provisioner.commands.common import open_session
from provisioner.reconcile.apply import ApplyOptions, apply_plan
from provisioner.reconcile.observe import observe_server
from provisioner.reconcile.plan import make_warm_plan
from provisioner.views.report import document, result_line, results_json


def run(file: str, *, host: str | None, output: str) -> int:
    text = output == "text"
    session = open_session(file, host, text=text)
    with session.client:
        state = observe_server(session.client, session.manifest)
        plan = make_warm_plan(session.manifest, state)
        on_result = (lambda r: click.echo(result_line(r))) if text else None
        results = apply_plan(plan, session.client, ApplyOptions(on_result=on_result))
    if not text:
        body = document("warm", session.target.url, results=results_json(results))
        click.echo(json.dumps(body))
    elif not results:
        click.echo("nothing to warm: no model has warm: true")
    failed = any(r.outcome != "done" for r in results)
    return exit_codes.FAILED if failed else exit_codes.OK
