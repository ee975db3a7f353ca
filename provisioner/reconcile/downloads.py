"""What a plan's pulls will meet at their registries, and what they will download.

Asked only for pulls the plan holds (a no-op plan asks nothing): one manifest
read per pull from the registry it pulls from (the mirror's, through a mirror;
reused when observe read it already), bounded, retried once, in parallel; then
HEAD /api/blobs/<digest> on the server for each distinct blob (Ollama answers
200 when it has it). What the registry answers decides the pull, so a plan is a
faithful preview of apply (which runs this same check): a model or tag the
registry does not have, a refusal, or TLS spoken to a plain-http registry makes
the pull a failure of that model, in the registry's words. A registry that
cannot be reached from here proves nothing about the server (it may sit
elsewhere): the pull stands and the plan says, once per registry, that it was
not checked. A blob two pulls share is counted once in the total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provisioner.errors import ServerError, registry_refused
from provisioner.names import Key, ModelName
from provisioner.reconcile.actions import Action, Pull
from provisioner.reconcile.apply import explain
from provisioner.reconcile.plan import Failure, Plan
from provisioner.server.client import Client
from provisioner.server.registry import RemoteManifest, fetch_manifest
from provisioner.server.retry import RetryPolicy

PARALLEL = 4
CHECK_RETRY = RetryPolicy(attempts=2, total_seconds=20.0, initial_wait=0.5, max_wait=2.0)


@dataclass(frozen=True)
class Checked:
    """What the registries said of the plan's pulls."""

    manifests: dict[Key, RemoteManifest]
    refused: dict[Key, ServerError]  # the registry answered no: the pull will fail
    unreachable: dict[str, ServerError]  # by registry host: not checked from here


def _asked(pull: Pull) -> ModelName:
    """The name the pull asks its registry for: the mirror's, through a mirror."""
    return pull.source.name if pull.source is not None else pull.model


def _read(pull: Pull) -> RemoteManifest | ServerError:
    name = _asked(pull)
    try:
        return fetch_manifest(name, insecure=pull.insecure, timeout=10.0, retry=CHECK_RETRY)
    except ServerError as e:
        return e


def check_pulls(plan: Plan, known: Mapping[Key, RemoteManifest | ServerError]) -> Checked:
    """The registry manifest of every pull in the plan, or why there is none."""
    pulls = [a for a in plan.changes if isinstance(a, Pull)]
    checked = Checked({}, {}, {})
    for p in pulls:
        if isinstance(m := known.get(p.model.key), RemoteManifest):
            checked.manifests[p.model.key] = m
    todo = [p for p in pulls if p.model.key not in checked.manifests]
    if not todo:
        return checked
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for pull, answer in zip(todo, pool.map(_read, todo), strict=True):
            if isinstance(answer, RemoteManifest):
                checked.manifests[pull.model.key] = answer
            elif registry_refused(answer):
                checked.refused[pull.model.key] = answer
            else:
                checked.unreachable.setdefault(_asked(pull).host.lower(), answer)
    return checked


def with_checks(plan: Plan, checked: Checked) -> Plan:
    """The plan with each refused pull turned into a failure of its model (in the
    registry's words) and a warning per registry not checked. Pure."""
    if not checked.refused and not checked.unreachable:
        return plan
    failures = [
        Failure(a.model, explain(checked.refused[a.model.key], a), a.drift, refused=True)
        for a in plan.actions
        if isinstance(a, Pull) and a.model.key in checked.refused
    ]
    actions = tuple(
        a for a in plan.actions if not (isinstance(a, Pull) and a.model.key in checked.refused)
    )
    unchecked = tuple(
        f"not checked: {host} unreachable from here ({e.reason()}); the server may still reach it"
        for host, e in sorted(checked.unreachable.items())
    )
    return dataclasses.replace(
        plan,
        actions=actions,
        failures=(*plan.failures, *failures),
        unchecked=(*plan.unchecked, *unchecked),
    )


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
    """Ask the registries what the plan's pulls will meet and the server what they
    will download."""
    checked = check_pulls(plan, known)
    plan = with_checks(plan, checked)
    manifests = checked.manifests
    if not manifests:
        return plan, manifests
    digests = {d for m in manifests.values() for d, _ in m.blobs}
    missing = missing_blobs(client, digests)
    if missing is None:
        return plan, manifests
    return download_sizes(plan, manifests, missing), manifests
