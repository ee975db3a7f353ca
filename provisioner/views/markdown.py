"""Markdown for CI summaries and pull-request comments: apply's step summary, and
`plan`/`drift -o markdown` (the same typed results the text and JSON views read)."""

from __future__ import annotations

from provisioner.reconcile.actions import Action, effect, reason
from provisioner.reconcile.core import Applied, Planned
from provisioner.views.text import plan_counts


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


def _where(planned: Planned) -> str:
    return f"`{planned.target.url}` (Ollama {planned.plan.server_version})"


def _change(action: Action) -> str:
    """`add (pull)`: what happens to the server, then how; `delete` says both."""
    said = effect(action)
    return said if said == action.kind else f"{said} ({action.kind})"


def plan_document(planned: Planned) -> str:
    """The plan: a headline (the counts), then one row per failure and per action."""
    plan = planned.plan
    if plan.actions:
        headline = plan_counts(plan).removeprefix("plan: ")
    elif plan.failures:
        headline = f"{len(plan.failures)} model(s) cannot be planned"
    else:
        headline = f"In sync: {len(plan.in_sync)} model(s), nothing to do"
    lines = ["### ollama-provision plan", "", f"**{headline}** on {_where(planned)}", ""]
    rows = [("fail", f.model.display, f.message) for f in plan.failures]
    rows += [(_change(a), a.model.display, reason(a)) for a in plan.actions]
    if rows:
        lines += ["| change | model | why |", "|---|---|---|"]
        lines += [f"| {c} | `{m}` | {_cell(why)} |" for c, m, why in rows]
        lines.append("")
    if plan.extras:
        lines += [f"{len(plan.extras)} undeclared model(s) left alone.", ""]
    return "\n".join(lines) + "\n"


def drift_document(planned: Planned) -> str:
    """Drift: a headline, then one row per drifted model (undeclared ones counted)."""
    drifted = [d for d in planned.drifts if d.kind != "extra"]
    unchecked = list(planned.plan.problems)
    if drifted:
        headline = f"Drift: {len(drifted)} model(s) differ from the manifest"
    else:
        headline = f"No drift: {len(planned.plan.in_sync)} model(s) in sync"
    lines = ["### ollama-provision drift", "", f"**{headline}** on {_where(planned)}", ""]
    if drifted or unchecked:
        lines += ["| drift | model | expected | found |", "|---|---|---|---|"]
        for d in drifted:
            found = d.actual or d.detail or ""
            lines.append(f"| {d.kind} | `{d.model.display}` | {_cell(d.expected or '')} | "
                         f"{_cell(found)} |")  # fmt: skip
        for f in unchecked:
            said = "refused" if f.refused else "not checked"
            lines.append(f"| {said} | `{f.model.display}` |  | {_cell(f.message)} |")
        lines.append("")
    lines += [f"> {_cell(w)}" for w in planned.plan.unchecked]
    extras = len(planned.drifts) - len(drifted)
    if extras:
        lines += [f"{extras} undeclared model(s) left alone.", ""]
    return "\n".join(lines) + "\n"
