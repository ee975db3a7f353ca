"""Render plans, results and drift as text for people or JSON for machines."""

from __future__ import annotations

from collections import Counter
from typing import Any

from provisioner.reconcile.apply import Result
from provisioner.reconcile.plan import Drift, Plan

_SIGN = {"pull": "+", "create": "+", "copy": "~", "warm": "~", "delete": "-"}


def plan_text(plan: Plan, host: str) -> list[str]:
    lines = [f"server {host} (ollama {plan.server_version})"]
    if not plan.actions and not plan.failures:
        lines.append(f"in sync: {len(plan.in_sync)} model(s) declared and present, nothing to do")
    for failure in plan.failures:
        lines.append(f"  ! fail   {failure.model.display}  ({failure.message})")
    for action in plan.actions:
        target = action.model.display
        if action.kind == "copy" and action.source is not None:
            target = f"{target} <- {action.source.display}"
        lines.append(f"  {_SIGN[action.kind]} {action.kind:<6} {target}  ({action.reason})")
    for extra in plan.extras:
        lines.append(f"  ? extra  {extra.model.display}  (on the server, not declared; left alone)")
    if plan.actions:
        counts = Counter(_SIGN[a.kind] for a in plan.actions)
        lines.append(
            f"plan: {counts['+']} to add, {counts['~']} to change, {counts['-']} to delete"
        )
    return lines


def summary_text(results: list[Result]) -> str:
    counts = Counter(r.outcome for r in results)
    parts = [f"{counts['done']} done"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped")
    return "apply: " + ", ".join(parts)


def result_line(result: Result) -> str:
    name = result.model.display
    if result.outcome == "done":
        extra = f"; {result.detail}" if result.detail else ""
        return f"  ok     {result.kind} {name} ({result.seconds:.1f}s{extra})"
    if result.outcome == "skipped":
        return f"  skip   {result.kind} {name}: {result.error}"
    return f"  FAILED {result.kind} {name}: {result.error}"


FORMAT_VERSION = 1  # of the JSON documents; see schemas/output.schema.json


def document(kind: str, server: str, **fields: Any) -> dict[str, Any]:
    """A JSON output document: kind and format version first, then the fields."""
    return {"kind": kind, "format_version": FORMAT_VERSION, "server": server, **fields}


def drift_json(drift: Drift) -> dict[str, Any]:
    return {
        "kind": drift.kind,
        "model": drift.model.display,
        "expected": drift.expected,
        "actual": drift.actual,
        "detail": drift.detail,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "server_version": plan.server_version,
        "actions": [
            {
                "action": a.kind,
                "model": a.model.display,
                "source": a.source.display if a.source else None,
                "drift": drift_json(a.drift),
            }
            for a in plan.actions
        ],
        "failures": [{"model": f.model.display, "message": f.message} for f in plan.failures],
        "in_sync": [n.display for n in plan.in_sync],
        "extra": [d.model.display for d in plan.extras],
    }


def results_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "action": r.kind,
            "model": r.model.display,
            "outcome": r.outcome,
            "seconds": round(r.seconds, 3),
            "error": r.error,
            "detail": r.detail,
        }
        for r in results
    ]


def markdown_summary(plan: Plan, results: list[Result], server: str) -> str:
    """A GitHub step summary: a headline and one table row per action."""
    failed = [r for r in results if r.outcome != "done"]
    if not plan.changes:
        headline = f"In sync: {len(plan.in_sync)} model(s), nothing to do"
    elif failed:
        headline = f"{len(failed)} of {len(results)} action(s) did not converge"
    else:
        headline = f"Converged: {len(results)} action(s) done"
    lines = [
        "### ollama-provision apply",
        "",
        f"**{headline}** on `{server}` (Ollama {plan.server_version})",
        "",
    ]
    if results:
        lines += ["| action | model | outcome | reason / error |", "|---|---|---|---|"]
        for r in results:
            why = r.error or (r.action.reason if r.action else "") or ""
            cell = why.replace("|", "\\|")
            lines.append(f"| {r.kind} | `{r.model.display}` | {r.outcome} | {cell} |")
        lines.append("")
    return "\n".join(lines) + "\n"
