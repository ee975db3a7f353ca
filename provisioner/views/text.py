"""Text for people: the plan, results, drift, status, validate and lock, as lines.

Every function takes a typed result and returns lines; the commands print
them. Nothing here decides anything: the symbols and counts follow the
action's effect (reconcile/actions.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from provisioner.export.build import Export
from provisioner.manifest.check import FileCheck
from provisioner.manifest.lock import LockWritten
from provisioner.reconcile.actions import Action, Copy, effect, reason
from provisioner.reconcile.apply import Result
from provisioner.reconcile.core import Applied, LockUse, Planned, StatusReport
from provisioner.reconcile.plan import Plan
from provisioner.server.hosts import ResolvedHost
from provisioner.views.rows import status_rows
from provisioner.views.units import human_size

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


def lock_lines(lock: LockUse | None) -> list[str]:
    if lock is None:
        return []
    lines = [f"using {lock.path.name} ({lock.pins} pinned digest{'s' * (lock.pins != 1)})"]
    lines += [f"note: lock: {d}" for d in lock.disagreements]
    return lines


def action_line(action: Action) -> str:
    target = action.model.display
    if isinstance(action, Copy):
        target = f"{target} <- {action.source.display}"
    return f"{SYMBOL[effect(action)]:>3} {action.kind:<6} {target}  ({reason(action)})"


def plan_counts(plan: Plan) -> str:
    counts = Counter(effect(a) for a in plan.actions)
    parts = [f"{counts[e]} to {e}" for e in ("add", "change", "replace", "delete")]
    line = "plan: " + ", ".join(parts)
    if counts["warm"]:
        line += f"; {counts['warm']} to warm"
    return line


def plan_lines(planned: Planned) -> list[str]:
    plan = planned.plan
    lines = [server_line(planned.target, plan.server_version), *lock_lines(planned.lock)]
    if not plan.changes and not plan.failures:
        lines.append(f"in sync: {len(plan.in_sync)} model(s) declared and present, nothing to do")
    for failure in plan.failures:
        lines.append(f"  ! fail   {failure.model.display}  ({failure.message})")
    lines += [action_line(a) for a in plan.actions]
    for extra in plan.extras:
        lines.append(f"  ? extra  {extra.model.display}  (on the server, not declared; left alone)")
    if plan.actions:
        lines.append(plan_counts(plan))
    return lines


def result_line(result: Result) -> str:
    name = result.model.display
    if result.outcome == "done":
        extra = f"; {result.detail}" if result.detail else ""
        return f"  ok     {result.kind} {name} ({result.seconds:.1f}s{extra})"
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


def drift_lines(planned: Planned) -> list[str]:
    plan = planned.plan
    lines = [server_line(planned.target, plan.server_version), *lock_lines(planned.lock)]
    for d in plan.drifts:
        if d.kind == "extra":
            lines.append(f"{d.kind:<18} {d.model.display}: on the server, not declared")
            continue
        said = f"expected {d.expected}, actual {d.actual}" if d.expected else (d.actual or "")
        detail = f" ({d.detail})" if d.detail and d.detail != d.kind else ""
        lines.append(f"{d.kind:<18} {d.model.display}: {said}{detail}".rstrip(": "))
    if not any(d.kind != "extra" for d in plan.drifts) and not plan.failures:
        lines.append(f"no drift: {len(plan.in_sync)} model(s) in sync")
    return lines


def failure_lines(plan: Plan) -> list[str]:
    """Problems that are not drift (a registry that cannot be read): for stderr."""
    return [f"error: {f.model.display}: {f.message}" for f in plan.failures if f.drift is None]


def status_lines(report: StatusReport) -> list[str]:
    rows = status_rows(report)
    lines = [
        server_line(report.target, report.state.version) + f": {len(report.state.models)} model(s)"
    ]
    header = f"{'MODEL':<44} {'SIZE':>9} {'DIGEST':<12} {'MODIFIED':<19} {'LOADED':<28}"
    lines.append(header + (" STATE" if report.plan else ""))
    for row in rows:
        if not row.present:
            lines.append(f"{row.model:<44} {'-':>9} {'-':<12} {'-':<19} {'':<28} missing")
            continue
        memory = ""
        if row.loaded is not None:
            where = "gpu" if row.loaded.size_vram else "cpu"
            memory = f"{where}, until {row.loaded.expires_at[:19]}"
        line = (
            f"{row.model:<44} {human_size(row.size):>9} {row.digest[7:19]:<12} "
            f"{row.modified_at[:19]:<19} {memory:<28}"
        )
        lines.append(line + (f" {row.state}" if report.plan else ""))
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
