"""`plan FILE`: observe and print what apply would do; `--exit-code` exits 3 on changes."""

from __future__ import annotations

import json

import click

from provisioner import exit_codes
from provisioner.commands.common import observe_and_plan, open_session
from provisioner.views.report import document, plan_json, plan_text


def run(
    file: str,
    *,
    host: str | None,
    output: str,
    exit_code: bool,
    prune: bool | None = None,
    check_updates: bool = False,
) -> int:
    session = open_session(file, host, text=output == "text")
    with session.client:
        _, plan = observe_and_plan(session, check_updates=check_updates, prune=prune)
    if output == "json":
        click.echo(json.dumps(document("plan", session.target.url, **plan_json(plan))))
    else:
        for line in plan_text(plan, session.target.url):
            click.echo(line)
    return exit_codes.DRIFT if exit_code and plan.changes else exit_codes.OK
