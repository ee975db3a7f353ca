"""`apply FILE`: observe, plan, print the plan, apply it, report; exit 0/1."""

from __future__ import annotations

import json
import sys

import click

from .. import exit_codes
from ..apply import apply_plan
from ..client import Client
from ..hosts import resolve_host
from ..manifest import load_manifest
from ..observe import observe_server
from ..plan import make_plan
from ..progress import PlainProgress
from ..report import plan_json, plan_text, result_line, results_json, summary_text


def run(file: str, *, host: str | None, output: str, quiet: bool, parallel: int) -> int:
    manifest = load_manifest(file)
    target = resolve_host(host, manifest.server.host)
    text = output == "text"
    if target.note and text:
        click.echo(f"note: {target.note}", err=True)
    timeout = manifest.server.timeout or 30.0
    with Client(target.url, headers=manifest.server.headers, timeout=timeout) as client:
        state = observe_server(client)
        plan = make_plan(manifest, state)
        if text and not (quiet and not plan.actions):
            for line in plan_text(plan, target.url, state.version):
                click.echo(line)
        if not plan.actions:
            if output == "json":
                click.echo(json.dumps({"in_sync": True, "plan": plan_json(plan), "results": []}))
            return exit_codes.OK
        progress = PlainProgress(sys.stderr) if text and not quiet else None
        on_result = (lambda r: click.echo(result_line(r))) if text else None
        results = apply_plan(
            plan, client, parallel=parallel, on_progress=progress, on_result=on_result
        )
    failed = any(r.outcome != "done" for r in results)
    if output == "json":
        click.echo(
            json.dumps(
                {"in_sync": not failed, "plan": plan_json(plan), "results": results_json(results)}
            )
        )
    else:
        click.echo(summary_text(results))
    return exit_codes.FAILED if failed else exit_codes.OK
