"""`drift FILE`: the CI check. Exit 3 when the server differs from the manifest."""

from __future__ import annotations

import dataclasses
import json

import click

from provisioner import exit_codes
from provisioner.commands.common import observe_and_plan, open_session
from provisioner.manifest.lock import apply_lock, read_lock
from provisioner.views.report import document, drift_json


def run(file: str, *, host: str | None, output: str, check_updates: bool = False) -> int:
    session = open_session(file, host, text=output == "text")
    lock = read_lock(session.manifest)
    lock_problems: list[str] = []
    if lock is not None:  # the lock's digests are what this server should hold
        pinned, lock_problems = apply_lock(session.manifest, lock)
        session = dataclasses.replace(session, manifest=pinned)
    with session.client:
        _, plan = observe_and_plan(session, check_updates=check_updates)
    drifts = plan.drifts
    unreadable = [f for f in plan.failures if f.drift is None]
    if output == "json":
        body = document(
            "drift",
            session.target.url,
            server_version=plan.server_version,
            drift=[drift_json(d) for d in drifts],
            errors=[{"model": f.model.display, "message": f.message} for f in unreadable]
            + [{"model": "", "message": p} for p in lock_problems],
        )
        click.echo(json.dumps(body))
    else:
        for d in drifts:
            detail = f" ({d.detail})" if d.detail else ""
            click.echo(
                f"{d.kind:<18} {d.model.display}: expected {d.expected}, actual {d.actual}{detail}"
            )
        for f in unreadable:
            click.echo(f"error: {f.model.display}: {f.message}", err=True)
        for problem in lock_problems:
            click.echo(f"error: lock: {problem}", err=True)
        real = [d for d in drifts if d.kind != "extra"]
        if not real and not unreadable:
            click.echo(f"no drift: {len(plan.in_sync)} model(s) in sync")
    if unreadable or lock_problems:
        return exit_codes.FAILED
    return exit_codes.DRIFT if any(d.kind != "extra" for d in drifts) else exit_codes.OK
