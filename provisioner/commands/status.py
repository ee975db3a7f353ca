"""`status [FILE]`: every model on the server, whether it is loaded, and — given a
manifest — whether it is declared and in sync."""

from __future__ import annotations

import json
from typing import Any

import click

from provisioner import exit_codes
from provisioner.manifest.load import load_manifest
from provisioner.names import parse_name
from provisioner.reconcile.observe import observe_server
from provisioner.reconcile.plan import Plan, make_plan
from provisioner.server.connect import connect
from provisioner.views.progress import human_size
from provisioner.views.report import document


def _sync_of(plan: Plan | None, name: str) -> tuple[bool | None, bool | None, str]:
    """(declared, in_sync, label) for one server model."""
    if plan is None:
        return None, None, ""
    key = parse_name(name).key
    if any(n.key == key for n in plan.in_sync):
        return True, True, "in sync"
    for action in plan.actions:
        if action.model.key == key and action.kind != "warm":
            declared = action.drift.kind != "unwanted" or action.drift.expected != "absent"
            return declared, False, action.drift.kind
    if any(d.model.key == key for d in plan.extras):
        return False, None, "extra"
    return True, True, "in sync"


def run(file: str | None, *, host: str | None, output: str) -> int:
    manifest = load_manifest(file) if file else None
    client, target = connect(manifest, host)
    with client:
        state = observe_server(client, manifest)
        running = {r.name.lower(): r for r in client.ps()}
    plan = make_plan(manifest, state) if manifest else None
    rows: list[dict[str, Any]] = []
    labels = []
    for model in state.models:
        name = model.name.display
        loaded = running.get(name.lower())
        declared, in_sync, label = _sync_of(plan, name)
        labels.append(label)
        rows.append(
            {
                "model": name,
                "digest": model.digest,
                "size": model.size,
                "modified_at": model.modified_at,
                "loaded": loaded is not None,
                "size_vram": loaded.size_vram if loaded else None,
                "expires_at": loaded.expires_at if loaded else None,
                "declared": declared,
                "in_sync": in_sync,
            }
        )
    present = {m.name.key for m in state.models}
    missing = (
        [
            s.name.display
            for s in manifest.models
            if s.kind != "absent" and s.name.key not in present
        ]
        if manifest
        else []
    )
    if output == "json":
        body = document(
            "status",
            target.url,
            server_version=state.version,
            manifest=str(manifest.path) if manifest else None,
            models=rows,
            missing=missing,
        )
        click.echo(json.dumps(body))
        return exit_codes.OK
    click.echo(f"server {target.url} (ollama {state.version}): {len(rows)} model(s)")
    header = f"{'MODEL':<44} {'SIZE':>9} {'DIGEST':<12} {'MODIFIED':<19} {'LOADED':<28}"
    click.echo(header + (" STATE" if plan else ""))
    for row, label in zip(rows, labels, strict=True):
        memory = ""
        if row["loaded"]:
            where = "gpu" if row["size_vram"] else "cpu"
            memory = f"{where}, until {str(row['expires_at'])[:19]}"
        line = (
            f"{row['model']:<44} {human_size(row['size']):>9} {row['digest'][:12]:<12} "
            f"{str(row['modified_at'])[:19]:<19} {memory:<28}"
        )
        click.echo(line + (f" {label}" if plan else ""))
    for name in missing:
        click.echo(f"{name:<44} {'-':>9} {'-':<12} {'-':<19} {'':<28} missing")
    return exit_codes.OK
