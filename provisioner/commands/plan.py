"""`plan FILE`: observe and print what apply would do; `--exit-code` exits 3 on changes."""

from __future__ import annotations

import json

import click

from .. import exit_codes
from ..client import Client
from ..hosts import resolve_host
from ..manifest import load_manifest
from ..observe import observe_server
from ..plan import make_plan
from ..report import plan_json, plan_text


def run(file: str, *, host: str | None, output: str, exit_code: bool) -> int:
    manifest = load_manifest(file)
    target = resolve_host(host, manifest.server.host)
    with Client(target.url, headers=manifest.server.headers) as client:
        state = observe_server(client)
    plan = make_plan(manifest, state)
    if output == "json":
        click.echo(json.dumps({"server": target.url, "version": state.version, **plan_json(plan)}))
    else:
        if target.note:
            click.echo(f"note: {target.note}", err=True)
        for line in plan_text(plan, target.url, state.version):
            click.echo(line)
    return exit_codes.DRIFT if exit_code and plan.changes else exit_codes.OK
