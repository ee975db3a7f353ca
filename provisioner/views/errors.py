"""An error as the lines the user reads: one, except a manifest's list of problems."""

from __future__ import annotations

from provisioner.errors import ManifestError, ProvisionError, Refused


def error_lines(e: BaseException) -> list[str]:
    """What failed, where and why, never a traceback; the first line is the headline."""
    if isinstance(e, ManifestError):
        return [f"error: {p}" for p in e.problems] or [f"error: {e}"]
    if isinstance(e, Refused):
        return [f"refusing to apply: {r}" for r in e.reasons] + ["apply --locked: nothing changed"]
    if isinstance(e, ProvisionError):
        return [f"error: {e}"]
    if isinstance(e, OSError):  # a file we were told to read or write
        where = f" {e.filename}" if e.filename else ""
        return [f"error:{where}: {e.strerror or e}"]
    return [f"error: unexpected {type(e).__name__}: {e} (rerun with --verbose and report it)"]


def prune_refusal(names: list[str] | tuple[str, ...], *, why: str = "") -> str:
    """The one wording of a prune that was not allowed (no --yes, no prompt)."""
    listed = ", ".join(names)
    because = f" ({why})" if why else ""
    return (
        f"error: apply would delete {len(names)} undeclared model(s) ({listed}); "
        f"rerun with --yes to allow deletions{because}"
    )
