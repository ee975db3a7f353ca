"""Render plans and results as text for people or JSON for machines."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .apply import Result
from .plan import Plan

_SIGN = {"pull": "+", "create": "+", "copy": "~", "warm": "~", "delete": "-"}


def plan_text(plan: Plan, host: str, version: str) -> list[str]:
    lines = [f"server {host} (ollama {version})"]
    if not plan.actions:
        lines.append(f"in sync: {len(plan.in_sync)} model(s) declared and present, nothing to do")
    for action in plan.actions:
        drift = action.drift
        lines.append(
            f"  {_SIGN[action.kind]} {action.kind:<6} {action.model.display}  ({drift.kind})"
        )
    for extra in plan.extras:
        lines.append(f"  ? extra  {extra.model.display}  (on the server, not declared; left alone)")
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
    name = result.action.model.display
    if result.outcome == "done":
        return f"  ok     {result.action.kind} {name} ({result.seconds:.1f}s)"
    if result.outcome == "skipped":
        return f"  skip   {result.action.kind} {name}: {result.error}"
    return f"  FAILED {result.action.kind} {name}: {result.error}"


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "actions": [
            {
                "action": a.kind,
                "model": a.model.display,
                "drift": {
                    "kind": a.drift.kind,
                    "expected": a.drift.expected,
                    "actual": a.drift.actual,
                },
            }
            for a in plan.actions
        ],
        "in_sync": [n.display for n in plan.in_sync],
        "extra": [d.model.display for d in plan.extras],
    }


def results_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "action": r.action.kind,
            "model": r.action.model.display,
            "outcome": r.outcome,
            "seconds": round(r.seconds, 3),
            "error": r.error,
        }
        for r in results
    ]
