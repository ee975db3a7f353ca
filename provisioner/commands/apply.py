"""`apply FILE`: observe, plan, print the plan, apply it, report; exit 0/1 (2 if refused)."""

from __future__ import annotations

import json
import sys

import click

from .. import exit_codes
from ..apply import ApplyOptions, apply_plan
from ..progress import progress_view
from ..report import document, plan_json, plan_text, result_line, results_json, summary_text
from .common import observe_and_plan, open_session


def _deletions_allowed(names: list[str], yes: bool) -> bool:
    if yes or not names:
        return True
    if sys.stdin.isatty():
        return click.confirm(f"delete {len(names)} model(s): {', '.join(names)}?", default=False)
    click.echo(
        f"error: apply would delete {len(names)} model(s) ({', '.join(names)}); "
        "rerun with --yes to allow deletions (stdin is not a terminal)",
        err=True,
    )
    return False


def run(
    file: str,
    *,
    host: str | None,
    output: str,
    quiet: bool,
    parallel: int = 2,
    dry_run: bool = False,
    prune: bool | None = None,
    yes: bool = False,
    check_updates: bool = False,
    stall_timeout: float = 120.0,
) -> int:
    text = output == "text"
    session = open_session(file, host, text=text, stall_timeout=stall_timeout)
    with session.client:
        _, plan = observe_and_plan(session, check_updates=check_updates, prune=prune)
        if text and not (quiet and not plan.changes):
            for line in plan_text(plan, session.target.url):
                click.echo(line)
        if dry_run or not plan.changes:
            if not text:
                body = document(
                    "apply",
                    session.target.url,
                    in_sync=not plan.changes,
                    dry_run=dry_run,
                    plan=plan_json(plan),
                    results=[],
                )
                click.echo(json.dumps(body))
            return exit_codes.OK
        doomed = [a.model.display for a in plan.actions if a.kind == "delete"]
        if not _deletions_allowed(doomed, yes):
            return exit_codes.USAGE
        view = progress_view(quiet=quiet or not text)
        options = ApplyOptions(
            parallel=parallel,
            on_progress=view,
            on_result=(lambda r: view.log(result_line(r))) if text else None,
        )
        try:
            results = apply_plan(plan, session.client, options)
        finally:
            view.close()
    failed = any(r.outcome != "done" for r in results)
    if text:
        click.echo(summary_text(results))
    else:
        body = document(
            "apply",
            session.target.url,
            in_sync=not failed,
            dry_run=False,
            plan=plan_json(plan),
            results=results_json(results),
        )
        click.echo(json.dumps(body))
    return exit_codes.FAILED if failed else exit_codes.OK
