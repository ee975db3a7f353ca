"""`apply FILE`: observe, plan, print the plan, apply it, report; exit 0/1 (2 if refused)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import click

from provisioner import exit_codes
from provisioner.commands.common import observe_and_plan, open_session
from provisioner.errors import LockError
from provisioner.manifest.lock import apply_lock, read_lock
from provisioner.reconcile.apply import ApplyOptions, Result, apply_plan
from provisioner.reconcile.plan import Plan
from provisioner.views.progress import progress_view
from provisioner.views.report import (
    document,
    markdown_summary,
    plan_json,
    plan_text,
    result_line,
    results_json,
    summary_text,
)


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


def _write_step_summary(plan: Plan, results: list[Result], server: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when running inside GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as f:
            f.write(markdown_summary(plan, results, server))


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
    locked: bool = False,
) -> int:
    text = output == "text"
    session = open_session(file, host, text=text, stall_timeout=stall_timeout)
    if locked:
        lock = read_lock(session.manifest)
        if lock is None:
            raise LockError(f"--locked needs a lock file; run `ollama-provision lock {file}`")
        pinned, problems = apply_lock(session.manifest, lock)
        if problems:
            raise LockError("; ".join(problems))
        session = dataclasses.replace(session, manifest=pinned)
    with session.client:
        _, plan = observe_and_plan(session, check_updates=check_updates, prune=prune)
        if locked and plan.failures:
            for failure in plan.failures:
                click.echo(f"error: {failure.model.display}: {failure.message}", err=True)
            click.echo("error: refusing to apply: the server would not match the lock", err=True)
            return exit_codes.FAILED
        if text and not (quiet and not plan.changes):
            for line in plan_text(plan, session.target.url):
                click.echo(line)
        if dry_run or not plan.changes:
            if not dry_run:
                _write_step_summary(plan, [], session.target.url)
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
    _write_step_summary(plan, results, session.target.url)
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
