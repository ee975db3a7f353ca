"""Text for people: the plan, results, drift, status, validate and lock, as lines.

Every function takes a typed result and returns lines; the commands print
them. Nothing here decides anything: the symbols and counts follow the
action's effect (reconcile/actions.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from provisioner.manifest.check import FileCheck
from provisioner.manifest.lock import LockWritten
from provisioner.reconcile.actions import Action, Copy, Drift, Pull, effect, reason
from provisioner.reconcile.apply import Result
from provisioner.reconcile.core import Applied, LockUse, Planned, StatusReport
from provisioner.reconcile.plan import Plan
from provisioner.server.hosts import ResolvedHost
from provisioner.server.retry import RetryEvent
from provisioner.types.wire import RunningModel
from provisioner.views.rows import status_rows
from provisioner.views.units import human_size, relative

if TYPE_CHECKING:  # only export needs it: keep it out of every other command's start-up
    from provisioner.export.build import Export

SYMBOL = {"add": "+", "change": "~", "replace": "-/+", "delete": "-", "warm": "*"}
_SOURCE = {
    "--host": "from --host",
    "manifest": "from the manifest's server.host",
    "OLLAMA_HOST": "from OLLAMA_HOST",
    "default": "the default",
}


def server_line(target: ResolvedHost, version: str | None = None) -> str:
    """Which server, and where that choice came from."""
    about = [f"ollama {version}"] if version else []
    about.append(_SOURCE.get(target.source, target.source))
    return f"server {target.url} ({'; '.join(about)})"


def lock_lines(lock: LockUse | None, *, notes: bool = True) -> list[str]:
    """Which lock was read; its disagreements as notes (drift shows them as drift)."""
    if lock is None:
        return []
    lines = [f"using {lock.path.name} ({lock.pins} pinned digest{'s' * (lock.pins != 1)})"]
    lines += [f"note: lock: {d}" for d in lock.disagreements] if notes else []
    return lines


def action_line(action: Action) -> str:
    target = action.model.display
    why = reason(action)
    if isinstance(action, Copy):
        target = f"{target} <- {action.source.display}"
    if isinstance(action, Pull):
        if action.source is not None:
            target = f"{target} from {action.source.registry}"
        if action.download_bytes is not None:
            why = f"{why}; {human_size(action.download_bytes)} to download"
    return f"{SYMBOL[effect(action)]:>3} {action.kind:<6} {target}  ({why})"


def plan_counts(plan: Plan) -> str:
    counts = Counter(effect(a) for a in plan.actions)
    parts = [f"{counts[e]} to {e}" for e in ("add", "change", "replace", "delete")]
    line = "plan: " + ", ".join(parts)
    if counts["warm"]:
        line += f"; {counts['warm']} to warm"
    total = plan.download_bytes
    if total is not None:
        unknown = sum(1 for a in plan.changes if isinstance(a, Pull) and a.download_bytes is None)
        line += f"; will download {human_size(total)}"
        line += f" (and {unknown} pull{'s' * (unknown != 1)} of unknown size)" if unknown else ""
    return line


def extras_lines(plan: Plan, *, verbose: bool) -> list[str]:
    """Undeclared models: one line each with -v, else one line for all."""
    if verbose:
        return [
            f"  ? extra  {d.model.display}  (on the server, not declared; left alone)"
            for d in plan.extras
        ]
    if not plan.extras:
        return []
    count = len(plan.extras)
    return [f"  {count} undeclared model{'s' * (count != 1)} left alone; -v to list"]


def plan_lines(planned: Planned, *, verbose: bool = False, quiet: bool = False) -> list[str]:
    """The plan; with quiet only failures and the summary line."""
    plan = planned.plan
    lines = [] if quiet else [server_line(planned.target, plan.server_version)]
    lines += [] if quiet else lock_lines(planned.lock)
    lines += [f"  ! fail   {f.model.display}  ({f.message})" for f in plan.failures]
    lines += [f"warning: {w}" for w in plan.unchecked]
    if not quiet:
        lines += [action_line(a) for a in plan.actions]
        lines += extras_lines(plan, verbose=verbose)
    if plan.actions:
        lines.append(plan_counts(plan))
    elif not plan.failures:
        lines.append(f"in sync: {len(plan.in_sync)} model(s) declared and present, nothing to do")
    return lines


def result_line(result: Result, now: datetime | None = None) -> str:
    name = result.model.display
    if result.outcome == "done":
        said = [f"{result.seconds:.1f}s"] if result.kind != "warm" else []
        said += [result.detail] if result.detail else []
        if result.expires_at:
            said.append(f"expires {relative(result.expires_at, now)}")
        return f"  ok     {result.kind} {name} ({', '.join(said)})"
    if result.outcome == "skipped":
        return f"  skip   {result.kind} {name}: {result.error}"
    return f"  FAILED {result.kind} {name}: {result.error}"


def apply_summary(applied: Applied) -> str:
    if applied.outcome == "cancelled":
        return "apply cancelled; nothing changed"
    if applied.outcome == "dry-run":
        return "dry run: nothing changed"
    counts = Counter(r.outcome for r in applied.results)
    parts = [f"{counts['done']} done"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped")
    return "apply: " + ", ".join(parts)


def drift_line(d: Drift) -> str:
    if d.kind == "extra":
        return f"{d.kind:<18} {d.model.display}: on the server, not declared"
    said = f"expected {d.expected}, actual {d.actual}" if d.expected and d.actual else ""
    detail = (d.detail or "").removeprefix(f"{d.kind}: ")
    detail = "" if detail == d.kind else detail
    if said and detail:
        detail = f" ({detail})"
    return f"{d.kind:<18} {d.model.display}: {said}{detail}".rstrip(": ")


def drift_lines(planned: Planned, *, verbose: bool = False, quiet: bool = False) -> list[str]:
    plan = planned.plan
    lines = [] if quiet else [server_line(planned.target, plan.server_version)]
    lines += [] if quiet else lock_lines(planned.lock, notes=False)
    drifted = [d for d in planned.drifts if d.kind != "extra"]
    lines += [f"warning: {w}" for w in plan.unchecked]
    lines += [drift_line(d) for d in drifted]
    if verbose:
        lines += [drift_line(d) for d in plan.extras]
    elif not quiet:
        lines += [line.strip() for line in extras_lines(plan, verbose=False)]
    if drifted:  # a CI log ends with the count either way
        lines.append(f"drift: {len(drifted)} model(s) differ, {len(plan.in_sync)} in sync")
    elif not plan.failures:
        lines.append(f"no drift: {len(plan.in_sync)} model(s) in sync")
    return lines


def failure_lines(plan: Plan) -> list[str]:
    """Problems that are not drift (a registry that cannot be read): for stderr."""
    return [f"error: {f.model.display}: {f.message}" for f in plan.problems]


def memory(loaded: RunningModel, now: datetime | None = None) -> str:
    """Where a loaded model sits and until when: `472.5 KB cpu, expires in 9m`."""
    if loaded.size_vram >= loaded.size > 0:
        where = "gpu"
    elif loaded.size_vram:
        where = f"{human_size(loaded.size_vram)} gpu"
    else:
        where = "cpu"
    return f"{human_size(loaded.size)} {where}, expires {relative(loaded.expires_at, now)}"


def status_lines(report: StatusReport, now: datetime | None = None) -> list[str]:
    rows = status_rows(report)
    count = len(report.state.models)
    lines = [server_line(report.target, report.state.version) + f": {count} model(s)"]
    header = f"{'MODEL':<44} {'SIZE':>9} {'DIGEST':<12} {'MODIFIED':<9} {'LOADED':<36}"
    lines.append((header + (" STATE" if report.plan else "")).rstrip())
    for row in rows:
        if not row.present:
            line = f"{row.model:<44} {'-':>9} {'-':<12} {'-':<9} {'':<36} missing"
            lines.append(line)
            continue
        loaded = memory(row.loaded, now) if row.loaded is not None else ""
        line = (
            f"{row.model:<44} {human_size(row.size):>9} {row.digest[7:19]:<12} "
            f"{relative(row.modified_at, now):<9} {loaded:<36}"
        )
        lines.append((line + (f" {row.state}" if report.plan else "")).rstrip())
    return lines


def validate_lines(checks: Sequence[FileCheck]) -> tuple[list[str], list[str]]:
    """(stdout lines, stderr lines)."""
    out: list[str] = []
    err: list[str] = []
    for c in checks:
        err += [f"{w.position}: warning: {w.message}" for w in c.warnings]
        err += [str(p) for p in c.problems]
        if c.valid:
            out.append(f"{c.file}: valid")
        else:
            count = len(c.problems)
            err.append(f"{c.file}: invalid ({count} problem{'s' * (count != 1)})")
    return out, err


def lock_written_lines(written: LockWritten) -> list[str]:
    lines = [
        f"wrote {written.path}: {len(written.registry)} registry model(s), "
        f"{len(written.custom)} custom model(s)"
    ]
    for move in written.moved:
        lines.append(f"  moved {move.model}: {move.old} -> {move.new}")
    return lines


def export_lines(export: Export, where: str) -> list[str]:
    registry, custom = export.of_kind("registry"), export.of_kind("custom")
    aliases = sum(len(m.group.aliases) for m in (*registry, *custom))
    lines = [
        f"exported {len(registry) + len(custom)} model(s) to {where}: "
        f"{len(registry)} registry, {len(custom)} custom, {aliases} alias(es)"
    ]
    for model in export.of_kind("unreproducible"):
        why = model.notes[0] if model.notes else "cannot be reproduced"
        lines.append(f"warning: {model.group.canonical.display} written commented out: {why}")
    for name in export.skipped:
        lines.append(f"warning: skipped {name!r}: not a valid model name")
    return lines


def retry_line(event: RetryEvent) -> str:
    """A retry, said as it happens: `retry 2/4 after HTTP 500`, `stalled 60s, retrying`."""
    who = f"{event.model}: " if event.model else ""
    step = f"{event.attempt + 1}/{event.attempts}"
    if event.reason.startswith("stalled"):
        return f"  {who}{event.reason}, retrying ({step})"
    return f"  {who}retry {step} after {event.reason}"
