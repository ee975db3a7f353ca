"""What a plan's pulls will download: registry manifests' blob sizes minus the blobs
the server already has.

Asked only for pulls the plan holds (a no-op plan asks nothing): one manifest
read per pull from the registry it pulls from (the mirror's, through a mirror;
reused when observe read it already), then HEAD /api/blobs/<digest> on the
server for each distinct blob (Ollama answers 200 when it has it). A registry
that cannot be read leaves that pull's size unknown; the plan is not failed for
it (the pull will say why). A blob two pulls share is counted once in the total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from provisioner.errors import ServerError
from provisioner.names import Key
from provisioner.reconcile.actions import Action, Pull
from provisioner.reconcile.plan import Plan
from provisioner.server.client import Client
from provisioner.server.registry import RemoteManifest, fetch_manifest
from provisioner.server.retry import NO_RETRY

PARALLEL = 4


def _manifest(pull: Pull) -> RemoteManifest | None:
    name = pull.source.name if pull.source is not None else pull.model
    try:
        return fetch_manifest(name, insecure=pull.insecure, timeout=10.0, retry=NO_RETRY)
    except ServerError:
        return None


def pull_manifests(
    plan: Plan, known: Mapping[Key, RemoteManifest | ServerError]
) -> dict[Key, RemoteManifest]:
    """The registry manifest of every pull in the plan that can be read."""
    pulls = [a for a in plan.changes if isinstance(a, Pull)]
    found = {
        p.model.key: m for p in pulls if isinstance(m := known.get(p.model.key), RemoteManifest)
    }
    todo = [p for p in pulls if p.model.key not in found]
    if todo:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            for pull, manifest in zip(todo, pool.map(_manifest, todo), strict=True):
                if manifest is not None:
                    found[pull.model.key] = manifest
    return found


def missing_blobs(client: Client, digests: set[str]) -> set[str] | None:
    """The digests the server lacks, or None when the server could not be asked."""
    ordered = sorted(digests)
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            present = list(pool.map(client.blob_exists, ordered))
    except ServerError:
        return None
    return {d for d, there in zip(ordered, present, strict=True) if not there}


def download_sizes(plan: Plan, manifests: Mapping[Key, RemoteManifest], missing: set[str]) -> Plan:
    """The plan with each pull's download_bytes (its missing blobs) and the total
    (each missing blob once). Pure."""
    counted: dict[str, int] = {}

    def sized(action: Action) -> Action:
        if not isinstance(action, Pull) or action.model.key not in manifests:
            return action
        blobs = [(d, n) for d, n in manifests[action.model.key].blobs if d in missing]
        counted.update(blobs)
        return dataclasses.replace(action, download_bytes=sum(n for _, n in blobs))

    actions = tuple(sized(a) for a in plan.actions)
    total = sum(counted.values()) if manifests else None
    return dataclasses.replace(plan, actions=actions, download_bytes=total)


def with_downloads(
    plan: Plan, client: Client, known: Mapping[Key, RemoteManifest | ServerError]
) -> tuple[Plan, dict[Key, RemoteManifest]]:
    """Ask the registries and the server what the plan's pulls will download."""
    manifests = pull_manifests(plan, known)
    if not manifests:
        return plan, manifests
    digests = {d for m in manifests.values() for d, _ in m.blobs}
    missing = missing_blobs(client, digests)
    if missing is None:
        return plan, manifests
    return download_sizes(plan, manifests, missing), manifests
