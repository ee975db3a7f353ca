"""One server's answer in a fleet run, rendered from the core's typed outcome.

Each command's answer says what the same command on that server alone would
say: its exit code (exit_codes.py, the same rule), a summary word, its text
section and its JSON document. A server whose run raised answers with the
error's lines, as the command would print them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from provisioner import exit_codes
from provisioner.reconcile.core import Applied, Planned, StatusReport
from provisioner.reconcile.fleet import FleetApplied, Note, Outcome
from provisioner.views import json_docs, text
from provisioner.views.errors import error_lines, prune_refusal
from provisioner.views.json_docs import Document

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """One server's answer, ready for every view."""

    code: int  # the exit code the single-server command would give
    result: str  # a summary word: "in sync", "changed", "drift", "failed"...
    actions: int
    version: str | None
    lines: tuple[str, ...]  # its section of the text output
    document: Document
    errors: tuple[str, ...] = ()  # one-line errors, also said on stderr


def note_line(note: Note) -> str:
    return f"note: {note}" if isinstance(note, str) else text.retry_line(note)


def answer(outcome: Outcome[T], render: Callable[[T], Answer]) -> Answer:
    """The server's answer: its value rendered, or the error that ended its run."""
    if outcome.value is not None:
        return render(outcome.value)
    assert outcome.error is not None
    lines = error_lines(outcome.error)
    code = exit_codes.for_error(outcome.error)
    document = json_docs.error_document(lines[0].removeprefix("error: "), code)
    notes = tuple(note_line(n) for n in outcome.notes)
    return Answer(code, "failed", 0, None, (*notes, *lines), document, tuple(lines))


def plan_answer(planned: Planned, *, exit_code: bool, verbose: bool, quiet: bool) -> Answer:
    plan = planned.plan
    result = "failed" if plan.failures else ("changes" if plan.changes else "in sync")
    return Answer(
        exit_codes.plan_exit(plan, exit_code=exit_code), result, len(plan.changes),
        plan.server_version, tuple(text.plan_lines(planned, verbose=verbose, quiet=quiet)),
        json_docs.plan_document(planned), tuple(text.failure_lines(plan)),
    )  # fmt: skip


def drift_answer(planned: Planned, *, verbose: bool, quiet: bool) -> Answer:
    plan = planned.plan
    drifted = exit_codes.drifted(planned.drifts)  # with the lock's
    result = "failed" if plan.problems else ("drift" if drifted else "in sync")
    return Answer(
        exit_codes.drift_exit(plan, planned.drifts), result, len(drifted), plan.server_version,
        tuple(text.drift_lines(planned, verbose=verbose, quiet=quiet)),
        json_docs.drift_document(planned), tuple(text.failure_lines(plan)),
    )  # fmt: skip


_APPLY_RESULT = {"in-sync": "in sync", "dry-run": "dry run", "done": "changed"}


def apply_answer(done: FleetApplied, *, verbose: bool, quiet: bool) -> Answer:
    applied = done.applied
    planned = applied.planned
    said = [text.result_line(r) for r in done.reported]
    lines = [*text.plan_lines(planned, verbose=verbose, quiet=quiet), *said]
    errors: list[str] = []
    if applied.outcome == "cancelled":
        errors.append(prune_refusal(done.refused))
    elif applied.outcome in ("done", "failed"):
        lines.append(text.apply_summary(applied))
    errors += [f"error: {r.model.display}: {r.error}" for r in applied.results if r.error]
    if applied.outcome == "dry-run":
        actions = len(planned.plan.changes)
    else:
        actions = sum(1 for r in applied.results if r.outcome == "done" and r.action is not None)
    code = exit_codes.apply_exit(applied.outcome, planned.plan)
    return Answer(
        code, _APPLY_RESULT.get(applied.outcome, "failed"), actions,
        planned.plan.server_version, tuple(lines), json_docs.apply_document(applied),
        tuple(errors),
    )  # fmt: skip


def status_answer(report: StatusReport) -> Answer:
    plan = report.plan
    drifted = exit_codes.drifted(plan.drifts) if plan else []
    result = "drift" if drifted else ("in sync" if plan else "ok")
    return Answer(
        exit_codes.OK, result, len(drifted), report.state.version,
        tuple(text.status_lines(report)), json_docs.status_document(report),
    )  # fmt: skip


def warm_answer(applied: Applied) -> Answer:
    lines = [text.result_line(r) for r in applied.results] or [
        "nothing to warm: no model here has warm: true"
    ]
    failed = applied.outcome == "failed"
    errors = tuple(f"error: {r.model.display}: {r.error}" for r in applied.results if r.error)
    return Answer(
        exit_codes.apply_exit(applied.outcome), "failed" if failed else "warmed",
        sum(1 for r in applied.results if r.outcome == "done"),
        applied.planned.plan.server_version, tuple(lines), json_docs.warm_document(applied),
        errors,
    )  # fmt: skip
