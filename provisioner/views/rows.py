"""One status row per model, shared by the text, JSON and Markdown views."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import InvalidName
from provisioner.names import Key, parse_name
from provisioner.reconcile.actions import Delete
from provisioner.reconcile.core import StatusReport
from provisioner.types.wire import RunningModel


@dataclass(frozen=True)
class StatusRow:
    model: str
    present: bool
    digest: str = ""
    size: int = 0
    modified_at: str = ""
    loaded: RunningModel | None = None
    declared: bool | None = None  # None: no manifest given
    in_sync: bool | None = None
    state: str = ""  # "in sync", a drift kind, "extra", "missing"; "" without a manifest


def _key(text: str) -> Key | None:
    try:
        return parse_name(text).key
    except InvalidName:
        return None


def status_rows(report: StatusReport) -> list[StatusRow]:
    """Every server model (with what is loaded), then declared models that are missing."""
    running = {_key(r.name): r for r in report.running}
    plan = report.plan
    synced = {n.key for n in plan.in_sync} if plan else set()
    acting = {a.model.key: a for a in plan.changes} if plan else {}
    extras = {d.model.key for d in plan.extras} if plan else set()
    failed = {f.model.key: f for f in plan.failures} if plan else {}
    rows: list[StatusRow] = []
    for model in report.state.models:
        key = model.name.key
        declared: bool | None = None
        in_sync: bool | None = None
        state = ""
        if plan is not None:
            action = acting.get(key)
            failure = failed.get(key)
            if failure is not None:  # could not be converged: say why in its drift kind
                declared, in_sync = True, False
                state = failure.drift.kind if failure.drift else "error"
            elif action is None:
                if key in extras and key not in synced:
                    declared, state = False, "extra"
                else:
                    declared, in_sync, state = True, True, "in sync"
            else:
                absent = isinstance(action, Delete) and not action.pruned
                declared = not isinstance(action, Delete) or absent
                in_sync, state = False, action.drift.kind
        rows.append(
            StatusRow(
                model.name.display,
                True,
                model.digest,
                model.size,
                model.modified_at,
                running.get(key),
                declared,
                in_sync,
                state,
            )
        )
    if report.manifest is not None:
        present = {m.name.key for m in report.state.models}
        for spec in report.manifest.models:
            if spec.kind != "absent" and spec.name.key not in present:
                rows.append(
                    StatusRow(
                        spec.name.display, False, declared=True, in_sync=False, state="missing"
                    )
                )
    return rows
