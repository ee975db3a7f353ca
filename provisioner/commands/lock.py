"""`lock FILE`: resolve every tag and custom definition, write the lock next to FILE."""

from __future__ import annotations

import json

import click

from provisioner import exit_codes
from provisioner.errors import LockError
from provisioner.manifest.load import load_manifest
from provisioner.manifest.lock import read_lock, write_lock


def run(file: str, *, output: str) -> int:
    manifest = load_manifest(file)
    try:
        previous = read_lock(manifest)
    except LockError:
        previous = None  # an unreadable old lock is simply replaced
    path = write_lock(manifest)
    current = read_lock(manifest)
    assert current is not None
    changed = sorted(
        name
        for name, digest in {**current.registry, **current.custom}.items()
        if previous is not None and {**previous.registry, **previous.custom}.get(name) != digest
    )
    if output == "json":
        body = {"lock": str(path), "registry": current.registry, "custom": current.custom}
        click.echo(json.dumps(body))
    else:
        click.echo(
            f"wrote {path}: {len(current.registry)} registry model(s), "
            f"{len(current.custom)} custom model(s)"
        )
        for name in changed:
            click.echo(f"  changed since the last lock: {name}")
    return exit_codes.OK
