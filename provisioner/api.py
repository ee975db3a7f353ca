"""The Python API, for people who script provisioning instead of calling the CLI.

    import provisioner
    manifest = provisioner.load("models.yaml")
    print(provisioner.plan(manifest).actions)
    results = provisioner.apply(manifest)
    leftovers = provisioner.drift(manifest)

Every function runs the same pipeline as the CLI (reconcile/core.py): it reads
the lock beside the manifest when there is one, resolves the host the same
way (`host`, else the manifest's server.host, else OLLAMA_HOST, else
http://127.0.0.1:11434), and gives the same answer as the matching command.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provisioner.errors import ProvisionError
from provisioner.manifest.load import Manifest, load_manifest
from provisioner.reconcile import core
from provisioner.reconcile.actions import Drift
from provisioner.reconcile.apply import Result
from provisioner.reconcile.plan import Plan
from provisioner.server.client import DEFAULT_STALL, ProgressCallback


def load(path: str | Path) -> Manifest:
    """Load and validate a manifest; raises ManifestError listing every problem."""
    return load_manifest(path)


def plan(
    manifest: Manifest,
    *,
    host: str | None = None,
    check_updates: bool = False,
    prune: bool | None = None,
    targets: Sequence[str] = (),
) -> Plan:
    """Observe the server and return what apply would do (nothing is changed).
    targets: only these declared models and what they need (like --target)."""
    settings = core.Settings(
        host=host, check_updates=check_updates, prune=prune, targets=tuple(targets)
    )
    return core.plan(manifest, settings).plan


def apply(
    manifest: Manifest,
    *,
    host: str | None = None,
    parallel: int = 2,
    allow_deletions: bool = False,
    check_updates: bool = False,
    prune: bool | None = None,
    locked: bool = False,
    stall_timeout: float = DEFAULT_STALL,
    targets: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
) -> list[Result]:
    """Converge the server to the manifest; one Result per action (check `outcome`).

    Models declared `state: absent` are deleted. Undeclared models deleted by
    pruning are refused (ProvisionError, nothing changed) unless allow_deletions.
    With locked, anything that differs from the lock raises Refused (nothing changed).
    """
    settings = core.Settings(
        host=host,
        check_updates=check_updates,
        prune=prune,
        locked=locked,
        parallel=parallel,
        stall_timeout=stall_timeout,
        targets=tuple(targets),
    )
    refused: list[str] = []

    def consent(names: list[str]) -> bool:
        refused.extend(names)
        return allow_deletions

    applied = core.apply(
        manifest, settings, core.Hooks(on_progress=on_progress, confirm_prune=consent)
    )
    if applied.outcome == "cancelled":
        raise ProvisionError(
            f"the plan prunes {', '.join(refused)}; pass allow_deletions=True to allow it"
        )
    return list(applied.results)


def drift(
    manifest: Manifest,
    *,
    host: str | None = None,
    check_updates: bool = False,
    targets: Sequence[str] = (),
) -> tuple[Drift, ...]:
    """How the server differs from the manifest (extra models included, kind "extra")."""
    return plan(manifest, host=host, check_updates=check_updates, targets=targets).drifts
