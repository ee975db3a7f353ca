"""`mirror [FILE] --to DEST [--from oci:PATH]`: copy models, digests preserved, to a
registry or an OCI layout on disk (see provisioner/mirror/)."""

from __future__ import annotations

import sys

import click

from provisioner import exit_codes
from provisioner.commands.common import (
    echo_document,
    echo_lines,
    echo_notes,
    echo_retry,
)
from provisioner.commands.options import DEFAULT_FILE, GlobalOptions
from provisioner.errors import UsageError
from provisioner.manifest.load import load_manifest
from provisioner.manifest.mirrors import shared_names
from provisioner.mirror.copy import mirror
from provisioner.mirror.endpoints import (
    Destination,
    LayoutDestination,
    LayoutSource,
    RegistryDestination,
    RegistryPool,
    RegistrySource,
    Source,
)
from provisioner.mirror.layout import Layout
from provisioner.mirror.locations import LayoutLocation, RegistryLocation, parse_location
from provisioner.mirror.select import Wanted, models_to_mirror
from provisioner.server.retry import DEFAULT_RETRY, RetryCallback, with_retry
from provisioner.types.manifest import Mirror
from provisioner.views import json_docs
from provisioner.views.formats import Output
from provisioner.views.mirror import mirror_lines
from provisioner.views.progress import progress_view


def run(
    file: str | None,
    opts: GlobalOptions,
    *,
    to: str,
    from_: str | None,
    to_insecure: bool,
    parallel: int,
) -> int:
    is_json = opts.output is Output.JSON
    target = parse_location(to, insecure=to_insecure)
    origin = parse_location(from_, option="--from") if from_ else None
    if isinstance(origin, RegistryLocation):
        raise UsageError("--from takes oci:PATH; models are read from the registry their name says")
    if origin is not None and origin == target:
        raise UsageError(f"--from and --to are the same layout ({target})")
    if file is None and origin is None:
        file = DEFAULT_FILE
    manifest = load_manifest(file) if file is not None else None
    if manifest is not None and opts.text:
        echo_notes(manifest, None)

    pool = RegistryPool()
    try:
        source: Source
        if isinstance(origin, LayoutLocation):
            layout = Layout.open(origin.path)
            source = LayoutSource(layout)
            wanted = (
                models_to_mirror(manifest)
                if manifest is not None
                else tuple(Wanted(e.name, False) for e in layout.entries().values())
            )
        else:
            source = RegistrySource(pool)
            wanted = models_to_mirror(manifest) if manifest is not None else ()
        if not wanted:
            what = "the layout holds no model" if manifest is None else "no registry model"
            click.echo(f"nothing to mirror: {what}", err=True)
            if is_json:
                echo_document(json_docs.mirror_document(mirror([], source, _null(target))))
            return exit_codes.OK
        if isinstance(target, RegistryLocation):
            _refuse_shared_repositories(target, wanted)
        on_retry = echo_retry if opts.text else None
        destination = _destination(target, pool, wanted, on_retry)
        view = progress_view(quiet=opts.quiet or is_json, stream=sys.stderr)
        try:
            report = mirror(
                wanted,
                source,
                destination,
                parallel=parallel,
                on_progress=view,
                on_retry=on_retry,
            )
        finally:
            view.close()
    finally:
        pool.close()
    if is_json:
        echo_document(json_docs.mirror_document(report))
    else:
        echo_lines(mirror_lines(report, quiet=opts.quiet))
    return exit_codes.FAILED if report.failed else exit_codes.OK


def _refuse_shared_repositories(target: RegistryLocation, wanted: tuple[Wanted, ...]) -> None:
    """A prefix replaces the namespace: library/x and team/x would land on one tag."""
    names = [w.name for w in wanted]
    into = Mirror("", target.host, target.prefix or None, target.insecure)
    shared = shared_names(names, lambda _: into)
    if shared:
        first, other = (names[i] for i in shared[0])
        raise UsageError(
            f"{first} and {other} would both be {target.host}/{target.repository(other)}:"
            f"{other.tag} (the prefix takes the place of the namespace); mirror them to "
            f"{target.host} without a prefix"
        )


def _destination(
    target: RegistryLocation | LayoutLocation,
    pool: RegistryPool,
    wanted: tuple[Wanted, ...],
    on_retry: RetryCallback | None,
) -> Destination:
    if isinstance(target, LayoutLocation):
        return LayoutDestination(Layout.create(target.path))
    # One check before any copying: a registry that wants credentials is one clear line.
    client = pool.get(target.host, target.insecure)
    repository = target.repository(wanted[0].name)
    with_retry(lambda: client.check_access(repository), DEFAULT_RETRY, on_retry)
    return RegistryDestination(target, pool)


def _null(target: RegistryLocation | LayoutLocation) -> Destination:
    """A destination nothing is copied to (for the empty report): never opened."""
    if isinstance(target, LayoutLocation):
        return LayoutDestination(Layout(target.path))
    return RegistryDestination(target, RegistryPool())
