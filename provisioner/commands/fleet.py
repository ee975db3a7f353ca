"""plan, apply, drift, status and warm across a fleet (--inventory, or --host given twice).

The core runs each server's pipeline a few at once (reconcile/fleet.py); this
module picks the servers and the views. Text output is a section per server,
printed as each finishes, then a summary table; JSON is one `fleet` document
holding each server's own document. Exit (exit_codes.fleet_exit): 1 if any
server failed, else 3 if any drifted (drift, plan --exit-code), else 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_lines, echo_notes
from provisioner.commands.options import GlobalOptions
from provisioner.fleet.inventory import Server, from_hosts, load_inventory, resolved
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.reconcile import fleet as pipeline
from provisioner.types.manifest import Manifest
from provisioner.views import answers, json_docs
from provisioner.views import fleet as view
from provisioner.views.formats import Output
from provisioner.views.openmetrics import drift_metrics

T = TypeVar("T")


def _servers(opts: GlobalOptions, manifest: Manifest | None) -> tuple[Server, ...]:
    """The inventory's servers, or each --host; else (status and openmetrics on one
    server) the manifest's host, as a single-server run resolves it."""
    if opts.inventory is not None:
        return tuple(load_inventory(opts.inventory))
    if opts.hosts:  # one --host is a fleet of one here: it must win over the manifest's host
        return tuple(from_hosts(opts.hosts))
    return (resolved(manifest.server.host if manifest else None),)


def _load(file: str | None, opts: GlobalOptions) -> Manifest | None:
    manifest = load_manifest(file) if file is not None else None
    if opts.text:
        echo_notes(manifest, None)
    return manifest


def _needed(file: str, opts: GlobalOptions) -> Manifest:
    manifest = _load(file, opts)
    assert manifest is not None
    return manifest


def _report(
    command: str,
    servers: Sequence[Server],
    job: pipeline.Job[T],
    render: Callable[[T], answers.Answer],
    opts: GlobalOptions,
    *,
    drift_exit: bool = False,
) -> int:
    """Run job on every server and print what the output format asks for; the exit code."""
    started = time.time()

    def show(done: pipeline.Outcome[T]) -> None:
        answer = answers.answer(done, render)
        if opts.text:
            click.echo(view.server_section(done, answer, quiet=opts.quiet))
        echo_lines(view.server_errors(done.server, answer), err=True)

    outcomes = pipeline.run_fleet(servers, job, parallel=opts.fleet_parallel, on_done=show)
    answered = [(o, answers.answer(o, render)) for o in outcomes]
    rows = [view.row(o.server, a, o.seconds) for o, a in answered]
    code = exit_codes.fleet_exit((r.code for r in rows), drift_exit=drift_exit)
    if opts.output is Output.JSON:
        docs = [(o.server, a.document) for o, a in answered]
        click.echo(json.dumps(json_docs.fleet_document(command, rows, docs, code)))
    elif opts.output is Output.MARKDOWN:
        click.echo(view.summary_markdown(command, rows), nl=False)
    else:
        click.echo("\n".join(view.summary_lines(command, rows, time.time() - started)))
    return code


def plan(file: str, settings: core.Settings, opts: GlobalOptions, *, exit_code: bool) -> int:
    manifest = _needed(file, opts)

    def render(planned: core.Planned) -> answers.Answer:
        return answers.plan_answer(
            planned, exit_code=exit_code, verbose=opts.verbose, quiet=opts.quiet
        )

    job = pipeline.plan_job(manifest, settings)
    return _report("plan", _servers(opts, manifest), job, render, opts, drift_exit=exit_code)


def apply(
    file: str, settings: core.Settings, opts: GlobalOptions, *, dry_run: bool, yes: bool
) -> int:
    manifest = _needed(file, opts)

    def render(done: pipeline.FleetApplied) -> answers.Answer:
        return answers.apply_answer(done, verbose=opts.verbose, quiet=opts.quiet)

    job = pipeline.apply_job(manifest, settings, dry_run=dry_run, allow_deletions=yes)
    return _report("apply", _servers(opts, manifest), job, render, opts)


def drift(file: str, settings: core.Settings, opts: GlobalOptions) -> int:
    manifest = _needed(file, opts)
    servers = _servers(opts, manifest)
    job = pipeline.plan_job(manifest, settings)
    if opts.output is Output.OPENMETRICS:
        return _openmetrics(servers, job, opts)

    def render(planned: core.Planned) -> answers.Answer:
        return answers.drift_answer(planned, verbose=opts.verbose, quiet=opts.quiet)

    return _report("drift", servers, job, render, opts, drift_exit=True)


def warm(file: str, settings: core.Settings, opts: GlobalOptions) -> int:
    manifest = _needed(file, opts)
    job = pipeline.warm_job(manifest, settings)
    return _report("warm", _servers(opts, manifest), job, answers.warm_answer, opts)


def status(file: str | None, settings: core.Settings, opts: GlobalOptions) -> int:
    """status across the fleet: a model-by-server matrix (text, JSON or Markdown)."""
    manifest = _load(file, opts)
    job = pipeline.status_job(manifest, settings)
    outcomes = pipeline.run_fleet(_servers(opts, manifest), job, parallel=opts.fleet_parallel)
    answered = [(o, answers.answer(o, answers.status_answer)) for o in outcomes]
    grid = view.matrix(manifest, [(o.server, o.value) for o in outcomes])
    for o, a in answered:
        echo_lines(view.server_errors(o.server, a), err=True)
    failed = any(a.result == "failed" for _, a in answered)
    code = exit_codes.FAILED if failed else exit_codes.OK
    if opts.output is Output.JSON:
        rows = [view.row(o.server, a, o.seconds) for o, a in answered]
        docs = [(o.server, a.document) for o, a in answered]
        doc = json_docs.fleet_document("status", rows, docs, code)
        doc["matrix"] = view.matrix_json(grid)
        click.echo(json.dumps(doc))
    elif opts.output is Output.MARKDOWN:
        click.echo(view.matrix_markdown(grid), nl=False)
    else:
        click.echo("\n".join(view.matrix_lines(grid)))
    return code


def _openmetrics(
    servers: Sequence[Server], job: pipeline.Job[core.Planned], opts: GlobalOptions
) -> int:
    """drift --output openmetrics: Prometheus text for a textfile collector or Pushgateway."""
    outcomes = pipeline.run_fleet(servers, job, parallel=opts.fleet_parallel)
    codes = []
    for o in outcomes:
        a = answers.answer(o, lambda p: answers.drift_answer(p, verbose=False, quiet=True))
        echo_lines(view.server_errors(o.server, a), err=True)
        codes.append(a.code)
    click.echo(drift_metrics(outcomes), nl=False)
    return exit_codes.fleet_exit(codes, drift_exit=True)
