"""JSON documents for machines, from the same typed results the text view reads.

Every document starts with `kind` and `format_version`; the shapes are
published in schemas/output.schema.json, and a test pushes every command's
real output through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import Problem
from provisioner.manifest.check import FileCheck
from provisioner.manifest.lock import LockWritten
from provisioner.reconcile.actions import Action, Copy, Drift, Pull, Warm, effect, reason
from provisioner.reconcile.apply import Result
from provisioner.reconcile.core import Applied, LockUse, Planned, StatusReport
from provisioner.reconcile.plan import Plan
from provisioner.server.hosts import ResolvedHost
from provisioner.views.rows import status_rows

if TYPE_CHECKING:  # only export needs it: keep it out of every other command's start-up
    from provisioner.export.build import Export
    from provisioner.fleet.inventory import Server
    from provisioner.mirror.copy import MirrorReport
    from provisioner.views.fleet import Row as FleetRow

FORMAT_VERSION = 1  # of the JSON documents; see schemas/output.schema.json

Document = dict[str, Any]


def document(kind: str, **fields: Any) -> Document:
    """kind and format version first, then the fields."""
    return {"kind": kind, "format_version": FORMAT_VERSION, **fields}


def drift_json(drift: Drift) -> Document:
    return {
        "kind": drift.kind,
        "model": drift.model.display,
        "expected": drift.expected,
        "actual": drift.actual,
        "detail": drift.detail,
    }


def action_json(action: Action) -> Document:
    return {
        "action": action.kind,
        "effect": effect(action),
        "model": action.model.display,
        "source": action.source.display if isinstance(action, Copy) else None,
        "reason": reason(action),
        "drift": None if isinstance(action, Warm) else drift_json(action.drift),
        "from": action.source.registry if isinstance(action, Pull) and action.source else None,
        "download_bytes": action.download_bytes if isinstance(action, Pull) else None,
    }


def plan_json(plan: Plan) -> Document:
    return {
        "server_version": plan.server_version,
        "actions": [action_json(a) for a in plan.actions],
        "failures": [{"model": f.model.display, "message": f.message} for f in plan.failures],
        "in_sync": [n.display for n in plan.in_sync],
        "extra": [d.model.display for d in plan.extras],
        "download_bytes": plan.download_bytes,
        "unchecked": list(plan.unchecked),
    }


def lock_json(lock: LockUse | None) -> Document | None:
    if lock is None:
        return None
    return {
        "path": str(lock.path),
        "pins": lock.pins,
        "disagreements": [str(d) for d in lock.disagreements],
    }


def result_json(r: Result) -> Document:
    return {
        "action": r.kind,
        "model": r.model.display,
        "outcome": r.outcome,
        "seconds": round(r.seconds, 3),
        "error": r.error,
        "detail": r.detail,
        "expires_at": r.expires_at,
    }


def server_json(target: ResolvedHost) -> Document:
    """The server a document is about, and the notes on its address (a listen address
    rewritten to loopback, an OLLAMA_HOST not used), which stderr says in text."""
    return {"server": target.url, "notes": list(target.notes)}


def plan_document(planned: Planned) -> Document:
    return document(
        "plan",
        **server_json(planned.target),
        lock=lock_json(planned.lock),
        **plan_json(planned.plan),
    )


def apply_document(applied: Applied) -> Document:
    planned = applied.planned
    return document(
        "apply",
        **server_json(planned.target),
        lock=lock_json(planned.lock),
        outcome=applied.outcome,
        changed=applied.changed,
        in_sync=applied.outcome in ("in-sync", "done"),
        dry_run=applied.outcome == "dry-run",
        plan=plan_json(planned.plan),
        results=[result_json(r) for r in applied.results],
    )


def drift_document(planned: Planned) -> Document:
    plan = planned.plan
    return document(
        "drift",
        **server_json(planned.target),
        server_version=plan.server_version,
        lock=lock_json(planned.lock),
        drift=[drift_json(d) for d in planned.drifts],
        errors=[{"model": f.model.display, "message": f.message} for f in plan.problems],
        unchecked=list(plan.unchecked),
    )


def warm_document(applied: Applied) -> Document:
    return document(
        "warm",
        **server_json(applied.planned.target),
        results=[result_json(r) for r in applied.results],
    )


def status_document(report: StatusReport) -> Document:
    rows = status_rows(report)
    models = [
        {
            "model": row.model,
            "digest": row.digest,
            "size": row.size,
            "modified_at": row.modified_at,
            "loaded": row.loaded is not None,
            "size_vram": row.loaded.size_vram if row.loaded else None,
            "expires_at": row.loaded.expires_at if row.loaded else None,
            "declared": row.declared,
            "in_sync": row.in_sync,
        }
        for row in rows
        if row.present
    ]
    return document(
        "status",
        **server_json(report.target),
        server_version=report.state.version,
        manifest=str(report.manifest.path) if report.manifest else None,
        lock=lock_json(report.lock),
        models=models,
        missing=[row.model for row in rows if not row.present],
    )


def problem_json(p: Problem) -> Document:
    return {
        "file": p.position.file,
        "path": p.path,
        "line": p.position.line,
        "column": p.position.column,
        "message": p.message,
    }


def validate_document(checks: Sequence[FileCheck]) -> Document:
    return document(
        "validate",
        valid=all(c.valid for c in checks),
        files=[
            {
                "file": c.file,
                "valid": c.valid,
                "errors": [problem_json(p) for p in c.problems],
                "warnings": [problem_json(w) for w in c.warnings],
            }
            for c in checks
        ],
    )


def lock_document(written: LockWritten) -> Document:
    return document(
        "lock",
        lock=str(written.path),
        registry=written.registry,
        custom=written.custom,
        moved=[{"model": m.model, "old": m.old, "new": m.new} for m in written.moved],
    )


def init_document(path: Path) -> Document:
    return document("init", file=str(path))


def error_document(message: str, exit_code: int, problems: Sequence[Problem] = ()) -> Document:
    """What --output json prints when a command fails before it has a document of its own."""
    return document(
        "error",
        error=message,
        exit_code=exit_code,
        problems=[problem_json(p) for p in problems],
    )


def export_document(
    export: Export, server: str, path: Path | None, manifest: str, writes: Sequence[str] = ()
) -> Document:
    """The exported manifest (or where it was written), what it holds, and what
    `export --exact` built and deleted on the server (nothing otherwise)."""
    return document(
        "export",
        server=server,
        file=str(path) if path else None,
        manifest=None if path else manifest,
        models={
            kind: [m.group.canonical.display for m in export.of_kind(kind)]
            for kind in ("registry", "custom", "unreproducible")
        },
        skipped=list(export.skipped),
        writes=list(writes),
    )


def fleet_document(
    command: str,
    rows: Sequence[FleetRow],
    documents: Sequence[tuple[Server, Document]],
    exit_code: int,
) -> Document:
    """One document for a run over many servers: a summary row and the server's own
    document (or its error document) for each."""
    by_name = {server.name: doc for server, doc in documents}
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.result] = counts.get(r.result, 0) + 1
    return document(
        "fleet",
        command=command,
        exit_code=exit_code,
        summary=counts,
        servers=[
            {
                "name": r.name,
                "host": r.host,
                "labels": r.labels,
                "server_version": r.version,
                "result": r.result,
                "actions": r.actions,
                "seconds": r.seconds,
                "exit_code": r.code,
                "error": r.message,
                "document": by_name[r.name],
            }
            for r in rows
        ],
    )


def mirror_document(report: MirrorReport) -> Document:
    """What mirror copied: per model, blobs and bytes copied, mounted and skipped."""
    fields = ("blobs_copied", "blobs_mounted", "blobs_skipped")
    sizes = ("bytes_copied", "bytes_mounted", "bytes_skipped")
    return document(
        "mirror",
        source=report.source,
        destination=report.destination,
        models=[
            {
                "model": m.name,
                "target": m.target,
                "status": m.status,
                "digest": m.digest,
                **{f: getattr(m, f) for f in (*fields, *sizes)},
                "error": m.error,
            }
            for m in report.models
        ],
        totals={
            "models": len(report.models),
            "failed": len(report.failed),
            **{f: report.total(f) for f in (*fields, *sizes)},
        },
        seconds=round(report.seconds, 3),
    )
