"""The Python API, for people who script provisioning instead of calling the CLI.

    import provisioner
    manifest = provisioner.load("models.yaml")
    print(provisioner.plan(manifest).actions)
    results = provisioner.apply(manifest, allow_deletions=True)
    leftovers = provisioner.drift(manifest)

Host resolution is the CLI's: `host`, else the manifest's server.host, else
OLLAMA_HOST, else http://127.0.0.1:11434.
"""

from __future__ import annotations

from pathlib import Path

from provisioner.errors import ProvisionError
from provisioner.manifest.load import Manifest, load_manifest
from provisioner.reconcile.apply import ApplyOptions, Result, apply_plan
from provisioner.reconcile.observe import observe_server
from provisioner.reconcile.plan import Drift, Plan, make_plan
from provisioner.server.client import Client, ProgressCallback
from provisioner.server.connect import connect


def _client(manifest: Manifest, host: str | None) -> Client:
    return connect(manifest, host)[0]


def load(path: str | Path) -> Manifest:
    """Load and validate a manifest; raises ManifestError listing every problem."""
    return load_manifest(path)


def plan(
    manifest: Manifest,
    *,
    host: str | None = None,
    check_updates: bool = False,
    prune: bool | None = None,
) -> Plan:
    """Observe the server and return what apply would do (nothing is changed)."""
    with _client(manifest, host) as client:
        state = observe_server(client, manifest, check_updates=check_updates)
    return make_plan(manifest, state, prune=prune)


def apply(
    manifest: Manifest,
    *,
    host: str | None = None,
    parallel: int = 2,
    allow_deletions: bool = False,
    check_updates: bool = False,
    prune: bool | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[Result]:
    """Converge the server to the manifest; one Result per action (check `outcome`).

    Deletions are refused (ProvisionError, nothing changed) unless allow_deletions.
    """
    with _client(manifest, host) as client:
        state = observe_server(client, manifest, check_updates=check_updates)
        planned = make_plan(manifest, state, prune=prune)
        doomed = [a.model.display for a in planned.actions if a.kind == "delete"]
        if doomed and not allow_deletions:
            raise ProvisionError(
                f"the plan deletes {', '.join(doomed)}; pass allow_deletions=True to allow it"
            )
        return apply_plan(planned, client, ApplyOptions(parallel=parallel, on_progress=on_progress))


def drift(
    manifest: Manifest, *, host: str | None = None, check_updates: bool = False
) -> tuple[Drift, ...]:
    """How the server differs from the manifest (extra models included, kind "extra")."""
    return plan(manifest, host=host, check_updates=check_updates).drifts
