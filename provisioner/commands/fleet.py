"""plan, apply, drift, status and warm across a fleet (--inventory, or --host given twice).

Every server runs the same single-server pipeline with its own settings, a
few at once (--fleet-parallel). Text output is a section per server, printed
as each finishes, then a summary table; JSON is one `fleet` document holding
each server's own document. Exit: 1 if any server failed, else 3 if any
drifted (drift, plan --exit-code), else 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from provisioner import exit_codes
from provisioner.commands.common import error_lines, exit_code_for
from provisioner.fleet.inventory import Server
from provisioner.reconcile import core
from provisioner.reconcile.fleet import (
    Outcome,
    ServerRun,
    run_fleet,
    server_manifest,
    server_settings,
)
from provisioner.types.manifest import Manifest
from provisioner.views import fleet as view
from provisioner.views import json_docs, text

Note = Callable[[str], None]
Job = Callable[[Server, Note], "Outcome"]


@dataclass(frozen=True)
class Options:
    output: str = "text"
    verbose: bool = False
    quiet: bool = False
    fleet_parallel: int = 4


def _hooks(note: Note, **more: Any) -> core.Hooks:
    return core.Hooks(
        on_note=lambda m: note(f"note: {m}"),
        on_retry=lambda e: note(text.retry_line(e)),
        **more,
    )


def _failed(e: BaseException, note: Sequence[str]) -> Outcome:
    lines = error_lines(e)
    code = exit_code_for(e)
    message = lines[0].removeprefix("error: ")
    document = json_docs.error_document(message, code)
    return Outcome(code, "failed", 0, None, (*note, *lines), document, tuple(lines))


# ---- the commands, for one server -------------------------------------------------------


def plan_job(manifest: Manifest, settings: core.Settings, opts: Options, exit_code: bool) -> Job:
    def job(server: Server, note: Note) -> Outcome:
        planned = core.plan(
            server_manifest(manifest, server), server_settings(settings, server), _hooks(note)
        )
        plan = planned.plan
        code = exit_codes.FAILED if plan.failures else exit_codes.OK
        if code == exit_codes.OK and exit_code and plan.changes:
            code = exit_codes.DRIFT
        result = "failed" if plan.failures else ("changes" if plan.changes else "in sync")
        lines = text.plan_lines(planned, verbose=opts.verbose, quiet=opts.quiet)
        errors = tuple(text.failure_lines(plan))
        return Outcome(
            code, result, len(plan.changes), plan.server_version, tuple(lines),
            json_docs.plan_document(planned), errors, planned,
        )  # fmt: skip

    return job


def apply_job(
    manifest: Manifest, settings: core.Settings, opts: Options, *, dry_run: bool, yes: bool
) -> Job:
    def job(server: Server, note: Note) -> Outcome:
        said: list[str] = []
        refused: list[str] = []

        def consent(names: list[str]) -> bool:
            refused.extend(names)
            return yes

        hooks = _hooks(
            note,
            on_result=lambda r: said.append(text.result_line(r)),
            confirm_prune=consent,
        )
        applied = core.apply(
            server_manifest(manifest, server), server_settings(settings, server), hooks,
            dry_run=dry_run,
        )  # fmt: skip
        planned = applied.planned
        lines = [*text.plan_lines(planned, verbose=opts.verbose, quiet=opts.quiet), *said]
        errors: list[str] = []
        if applied.outcome == "cancelled":
            errors.append(
                f"error: apply would delete {len(refused)} undeclared model(s) "
                f"({', '.join(refused)}); rerun with --yes to allow deletions"
            )
        elif applied.outcome in ("done", "failed"):
            lines.append(text.apply_summary(applied))
        errors += [f"error: {r.model.display}: {r.error}" for r in applied.results if r.error]
        failed = applied.outcome in ("failed", "cancelled")
        result = {"in-sync": "in sync", "dry-run": "dry run", "done": "changed"}.get(
            applied.outcome, "failed"
        )
        done = sum(1 for r in applied.results if r.outcome == "done" and r.action is not None)
        return Outcome(
            exit_codes.FAILED if failed else exit_codes.OK, result,
            done if not dry_run else len(planned.plan.changes), planned.plan.server_version,
            tuple(lines), json_docs.apply_document(applied), tuple(errors), applied,
        )  # fmt: skip

    return job


def drift_job(manifest: Manifest, settings: core.Settings, opts: Options) -> Job:
    def job(server: Server, note: Note) -> Outcome:
        planned = core.plan(
            server_manifest(manifest, server), server_settings(settings, server), _hooks(note)
        )
        plan = planned.plan
        drifted = [d for d in planned.drifts if d.kind != "extra"]  # with the lock's
        unchecked = any(f.drift is None for f in plan.failures)
        code = exit_codes.FAILED if unchecked else (exit_codes.DRIFT if drifted else exit_codes.OK)
        result = "failed" if unchecked else ("drift" if drifted else "in sync")
        lines = text.drift_lines(planned, verbose=opts.verbose, quiet=opts.quiet)
        return Outcome(
            code, result, len(drifted), plan.server_version, tuple(lines),
            json_docs.drift_document(planned), tuple(text.failure_lines(plan)), planned,
        )  # fmt: skip

    return job


def status_job(manifest: Manifest | None, settings: core.Settings, opts: Options) -> Job:
    def job(server: Server, note: Note) -> Outcome:
        narrowed = server_manifest(manifest, server) if manifest is not None else None
        report = core.status(narrowed, server_settings(settings, server), _hooks(note))
        plan = report.plan
        drifted = [d for d in plan.drifts if d.kind != "extra"] if plan else []
        result = "drift" if drifted else ("in sync" if plan else "ok")
        return Outcome(
            exit_codes.OK, result, len(drifted), report.state.version,
            tuple(text.status_lines(report)), json_docs.status_document(report), (), report,
        )  # fmt: skip

    return job


def warm_job(manifest: Manifest, settings: core.Settings, opts: Options) -> Job:
    def job(server: Server, note: Note) -> Outcome:
        applied = core.warm(
            server_manifest(manifest, server), server_settings(settings, server), _hooks(note)
        )
        lines = [text.result_line(r) for r in applied.results] or [
            "nothing to warm: no model here has warm: true"
        ]
        failed = applied.outcome == "failed"
        errors = tuple(f"error: {r.model.display}: {r.error}" for r in applied.results if r.error)
        return Outcome(
            exit_codes.FAILED if failed else exit_codes.OK, "failed" if failed else "warmed",
            sum(1 for r in applied.results if r.outcome == "done"),
            applied.planned.plan.server_version, tuple(lines),
            json_docs.warm_document(applied), errors, applied,
        )  # fmt: skip

    return job


# ---- running and printing ---------------------------------------------------------------


def outcome_of(run: ServerRun[Outcome]) -> Outcome:
    if run.value is not None:
        return run.value
    assert run.error is not None
    return _failed(run.error, run.notes)


def run(
    command: str,
    servers: Sequence[Server],
    job: Callable[[Server, Note], Outcome],
    opts: Options,
    *,
    drift_exit: bool = False,
) -> int:
    """Run job on every server and print what the output format asks for; the exit code."""
    started = time.time()

    def show(done: ServerRun[Outcome]) -> None:
        outcome = outcome_of(done)
        if opts.output == "text":
            notes = done.notes if done.value is not None else ()
            body = [*notes, *outcome.lines]
            if not outcome.lines and outcome.errors:
                body += list(outcome.errors)
            click.echo(view.section(done.server, body, quiet=opts.quiet))
        for line in outcome.errors:
            click.echo(f"{line.split(': ', 1)[0]}: server '{done.server.name}': "
                       f"{line.split(': ', 1)[-1]}", err=True)  # fmt: skip

    runs = run_fleet(servers, job, parallel=opts.fleet_parallel, on_done=show)
    rows = [view.row(r.server, outcome_of(r), r.seconds) for r in runs]
    code = fleet_exit(rows, drift_exit=drift_exit)
    if opts.output == "json":
        docs = [(r.server, outcome_of(r).document) for r in runs]
        click.echo(json.dumps(json_docs.fleet_document(command, rows, docs, code)))
    elif opts.output == "markdown":
        click.echo(view.summary_markdown(command, rows), nl=False)
    else:
        click.echo("\n".join(view.summary_lines(command, rows, time.time() - started)))
    return code


def fleet_exit(rows: Sequence[view.Row], *, drift_exit: bool) -> int:
    if any(r.code not in (exit_codes.OK, exit_codes.DRIFT) for r in rows):
        return exit_codes.FAILED
    if drift_exit and any(r.code == exit_codes.DRIFT for r in rows):
        return exit_codes.DRIFT
    return exit_codes.OK


def status_matrix(
    servers: Sequence[Server], manifest: Manifest | None, settings: core.Settings, opts: Options
) -> int:
    """status across the fleet: a model-by-server matrix (text, JSON or Markdown)."""
    runs = run_fleet(servers, status_job(manifest, settings, opts), parallel=opts.fleet_parallel)
    outcomes = [(r.server, outcome_of(r)) for r in runs]
    matrix = view.matrix(manifest, [(s, o.value) for s, o in outcomes])
    for server, outcome in outcomes:
        for line in outcome.errors:
            click.echo(f"error: server '{server.name}': {line.removeprefix('error: ')}", err=True)
    failed = any(o.result == "failed" for _, o in outcomes)
    code = exit_codes.FAILED if failed else exit_codes.OK
    if opts.output == "json":
        rows = [view.row(r.server, outcome_of(r), r.seconds) for r in runs]
        docs = [(s, o.document) for s, o in outcomes]
        doc = json_docs.fleet_document("status", rows, docs, code)
        doc["matrix"] = view.matrix_json(matrix)
        click.echo(json.dumps(doc))
    elif opts.output == "markdown":
        click.echo(view.matrix_markdown(matrix), nl=False)
    else:
        click.echo("\n".join(view.matrix_lines(matrix)))
    return code


def openmetrics(
    servers: Sequence[Server], manifest: Manifest, settings: core.Settings, opts: Options
) -> int:
    """drift --output openmetrics: Prometheus text for a textfile collector or Pushgateway."""
    from provisioner.views.openmetrics import drift_metrics

    runs = run_fleet(servers, drift_job(manifest, settings, opts), parallel=opts.fleet_parallel)
    outcomes = [(r.server, outcome_of(r), r.seconds) for r in runs]
    for server, outcome, _ in outcomes:
        for line in outcome.errors:
            click.echo(f"error: server '{server.name}': {line.removeprefix('error: ')}", err=True)
    click.echo(drift_metrics(outcomes), nl=False)
    rows = [view.row(s, o, sec) for s, o, sec in outcomes]
    return fleet_exit(rows, drift_exit=True)
