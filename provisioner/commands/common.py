"""What the server-facing commands share: load, connect, observe, plan."""

from __future__ import annotations

from dataclasses import dataclass

import click

from provisioner.manifest.load import Manifest, load_manifest
from provisioner.reconcile.observe import ServerState, observe_server
from provisioner.reconcile.plan import Plan, make_plan
from provisioner.server.client import Client
from provisioner.server.connect import connect
from provisioner.server.hosts import ResolvedHost


@dataclass(frozen=True)
class Session:
    manifest: Manifest
    target: ResolvedHost
    client: Client


def open_session(
    file: str, host: str | None, *, text: bool, stall_timeout: float = 120.0
) -> Session:
    manifest = load_manifest(file)
    client, target = connect(manifest, host, stall_timeout=stall_timeout)
    if text:
        for warning in manifest.warnings:
            click.echo(f"warning: {warning}", err=True)
        if target.note:
            click.echo(f"note: {target.note}", err=True)
    return Session(manifest, target, client)


def observe_and_plan(
    session: Session, *, check_updates: bool = False, prune: bool | None = None
) -> tuple[ServerState, Plan]:
    state = observe_server(session.client, session.manifest, check_updates=check_updates)
    return state, make_plan(session.manifest, state, prune=prune)
