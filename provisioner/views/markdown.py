"""Markdown for CI summaries (GitHub's $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from provisioner.reconcile.actions import reason
from provisioner.reconcile.core import Applied


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def apply_summary(applied: Applied) -> str:
    """A headline and one table row per action."""
    planned = applied.planned
    plan, results = planned.plan, applied.results
    failed = [r for r in results if r.outcome != "done"]
    if applied.outcome == "in-sync":
        headline = f"In sync: {len(plan.in_sync)} model(s), nothing to do"
    elif applied.outcome == "cancelled":
        headline = "Cancelled: nothing changed"
    elif failed:
        headline = f"{len(failed)} of {len(results)} action(s) did not converge"
    else:
        headline = f"Converged: {len(results)} action(s) done"
    lines = [
        "### ollama-provision apply",
        "",
        f"**{headline}** on `{planned.target.url}` (Ollama {plan.server_version})",
        "",
    ]
    if results:
        lines += ["| action | model | outcome | reason / error |", "|---|---|---|---|"]
        for r in results:
            why = r.error or (reason(r.action) if r.action else "")
            lines.append(f"| {r.kind} | `{r.model.display}` | {r.outcome} | {_cell(why)} |")
        lines.append("")
    return "\n".join(lines) + "\n"
