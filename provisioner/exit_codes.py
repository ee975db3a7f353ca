"""Exit codes, as DESIGN.md fixes them, and the one rule per command that picks one.

The single-server commands and the fleet's per-server rows both call these,
so a server in a fleet exits as the same command on that server alone would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from provisioner.errors import (
    LockError,
    ManifestError,
    ModelfileError,
    UsageError,
    WouldOverwrite,
)

if TYPE_CHECKING:  # annotations only: this module stays importable from anywhere
    from provisioner.reconcile.actions import Drift
    from provisioner.reconcile.plan import Plan

OK = 0  # done, or in sync
FAILED = 1  # an action or the connection failed
USAGE = 2  # bad usage or invalid manifest
DRIFT = 3  # drift found (drift, plan --exit-code)
INTERRUPTED = 130  # Ctrl-C


def for_error(e: BaseException) -> int:
    """2 for what the user must fix in what they gave us, 1 for what failed, 130 for ^C."""
    if isinstance(e, KeyboardInterrupt):
        return INTERRUPTED
    usage = (ManifestError, ModelfileError, LockError, UsageError, WouldOverwrite)
    return USAGE if isinstance(e, usage) else FAILED


def plan_exit(plan: Plan, *, exit_code: bool) -> int:
    """plan: 1 if the plan holds a failure; with --exit-code, 3 when changes are
    pending (warm-ups are not changes); else 0."""
    if plan.failures:
        return FAILED
    return DRIFT if exit_code and plan.changes else OK


def unchecked(plan: Plan) -> bool:
    """Whether something could not be checked (a failure that is not itself drift)."""
    return any(f.drift is None for f in plan.failures)


def drifted(drifts: Sequence[Drift]) -> list[Drift]:
    """The drift that counts: everything but undeclared extras (the lock's included)."""
    return [d for d in drifts if d.kind != "extra"]


def drift_exit(plan: Plan, drifts: Sequence[Drift]) -> int:
    """drift: 1 when something could not be checked or the registry refused it (a
    name it never had), 3 on drift, else 0. `drifts` is Planned.drifts, not
    plan.drifts: a manifest that differs from its lock is drift too."""
    if plan.problems:
        return FAILED
    return DRIFT if drifted(drifts) else OK


def apply_exit(outcome: str, plan: Plan | None = None) -> int:
    """apply and warm: 1 when an action failed or the run was cancelled, else 0. A dry
    run exits as plan does: 1 when the plan holds a failure apply would meet."""
    if outcome == "dry-run" and plan is not None:
        return plan_exit(plan, exit_code=False)
    return FAILED if outcome in ("failed", "cancelled") else OK


def fleet_exit(codes: Iterable[int], *, drift_exit: bool) -> int:
    """Over a fleet: 1 if any server failed, else 3 if any drifted (when the command
    reports drift), else 0."""
    codes = list(codes)
    if any(c not in (OK, DRIFT) for c in codes):
        return FAILED
    return DRIFT if drift_exit and DRIFT in codes else OK
