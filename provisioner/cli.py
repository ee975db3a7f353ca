"""Command-line entry point: declares the options and makes one typed call per command.

Nothing else lives here: each command is `commands/<verb>.py` (it decides when a
run is a fleet's), run by commands/runner.py (options checked, output masked,
every error one line and an exit code). A command's module is imported only
when it runs, so `--help`, `--version` and completion stay fast.
"""

from __future__ import annotations

import click

from provisioner.commands import options
from provisioner.commands.options import GlobalOptions
from provisioner.commands.runner import run_command, run_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@options.global_options
@click.version_option(package_name="ollama-provision")
def cli() -> None:
    """Models-as-code for Ollama: declare models in YAML, reconcile a server to it."""


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@options.allow_unset
@options.with_global_options
def validate(opts: GlobalOptions, /, files: tuple[str, ...], allow_unset: bool) -> None:
    """Check manifest files (default: models.yaml); exit 0 when all are valid, 2 otherwise."""
    from provisioner.commands import validate as command

    paths = list(files) or [options.DEFAULT_FILE]
    run_command("validate", opts, lambda: command.run(paths, opts, allow_unset=allow_unset))


@cli.command()
@options.manifest_file
@options.pull_parallel
@click.option("--dry-run", is_flag=True, help="Print the plan; send no mutating request.")
@click.option("--yes", "-y", is_flag=True, help="Allow deletions by pruning without a prompt.")
@options.stall_timeout
@options.prune
@options.target
@options.check_updates
@options.locked
@options.from_layout
@options.with_global_options
def apply(
    opts: GlobalOptions,
    /,
    file: str,
    parallel: int,
    dry_run: bool,
    yes: bool,
    stall_timeout: float,
    prune: bool | None,
    targets: tuple[str, ...],
    check_updates: bool,
    locked: bool,
    from_: str | None,
) -> None:
    """Make the server hold what FILE declares.

    Undeclared models are left alone unless pruning is on (--prune or
    prune.enabled), and then deleted only with --yes or a yes at the prompt.
    """
    from provisioner.commands import apply as command
    from provisioner.reconcile.core import Settings

    settings = Settings(
        host=opts.host,
        check_updates=check_updates,
        prune=prune,
        locked=locked,
        parallel=parallel,
        stall_timeout=stall_timeout,
        targets=targets,
        from_layout=from_,
    )
    run_command("apply", opts, lambda: command.run(file, settings, opts, dry_run=dry_run, yes=yes))


@cli.command()
@options.manifest_file
@click.option("--exit-code", is_flag=True, help="Exit 3 when changes are pending.")
@options.prune
@options.target
@options.check_updates
@options.with_global_options
def plan(
    opts: GlobalOptions,
    /,
    file: str,
    exit_code: bool,
    prune: bool | None,
    targets: tuple[str, ...],
    check_updates: bool,
) -> None:
    """Show what apply would do, and why, without changing anything."""
    from provisioner.commands import plan as command
    from provisioner.reconcile.core import Settings

    settings = Settings(host=opts.host, check_updates=check_updates, prune=prune, targets=targets)
    run_command("plan", opts, lambda: command.run(file, settings, opts, exit_code=exit_code))


@cli.command()
@options.manifest_file
@options.target
@options.check_updates
@options.with_global_options
def drift(opts: GlobalOptions, /, file: str, targets: tuple[str, ...], check_updates: bool) -> None:
    """Report how the server differs from FILE; exit 3 on drift (the CI check)."""
    from provisioner.commands import drift as command
    from provisioner.reconcile.core import Settings

    settings = Settings(host=opts.host, check_updates=check_updates, targets=targets)
    run_command("drift", opts, lambda: command.run(file, settings, opts))


@cli.command()
@options.manifest_file
@options.with_global_options
def warm(opts: GlobalOptions, /, file: str) -> None:
    """Load the manifest's `warm: true` models into memory and report their expiry."""
    from provisioner.commands import warm as command
    from provisioner.reconcile.core import Settings

    run_command("warm", opts, lambda: command.run(file, Settings(host=opts.host), opts))


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@options.check_updates
@options.with_global_options
def status(opts: GlobalOptions, /, file: str | None, check_updates: bool) -> None:
    """List the server's models: size, digest, loaded or not, and (given FILE) in sync or
    not; with --check-updates, also whether a tag moved at its registry (outdated)."""
    from provisioner.commands import status as command
    from provisioner.reconcile.core import Settings

    settings = Settings(host=opts.host, check_updates=check_updates)
    run_command("status", opts, lambda: command.run(file, settings, opts))


@cli.command()
@options.manifest_file
@options.with_global_options
def lock(opts: GlobalOptions, /, file: str) -> None:
    """Write <stem>.lock.json: the digest every tag resolves to and a hash of every custom model."""
    from provisioner.commands import lock as command

    run_command("lock", opts, lambda: command.run(file, output=opts.output))


@cli.command(name="export")
@options.output_file
@click.option("--force", is_flag=True, help="Replace --output-file if it exists.")
@click.option("--exact", is_flag=True, help="Settle an ambiguous TEMPLATE with a throwaway model.")
@options.with_global_options
def export_(opts: GlobalOptions, /, output_file: str | None, force: bool, exact: bool) -> None:
    """Write a manifest that reproduces the server's models.

    \b
    - Names with the same digest are one model; the others become its aliases
      (canonical: a name with a registry host, else a namespace, else shortest;
      for a custom model, first a name other models were built FROM).
    - A model whose /api/show names a parent model was built with `ollama create`:
      it is written as a Modelfile over that base (only what differs from it).
      Others are registry models, pulled by name and tag.
    - Registries on loopback/private addresses get `insecure: true` (plain http
      assumed; a comment says so).
    - A model built from a local file exists only on this server: it is written
      commented out, with its weights' sha256, so the manifest stays valid.
    - Reads only. A custom model whose TEMPLATE equals its base's is written
      as inherited, with a comment; --exact builds it once more under a
      throwaway name (created, compared, deleted) to settle it: the one
      export that writes.
    """
    from provisioner.commands import export as command

    run_command(
        "export",
        opts,
        lambda: command.run(
            output_file,
            host=opts.host,
            force=force,
            quiet=opts.quiet,
            output=opts.output,
            exact=exact,
        ),
    )


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@options.with_global_options
def init(opts: GlobalOptions, /, file: str | None, force: bool) -> None:
    """Write a commented starter manifest to FILE (default: models.yaml)."""
    from provisioner.commands import init as command

    run_command("init", opts, lambda: command.run(file, opts, force=force))


@cli.command(name="mirror")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@options.mirror_to
@options.mirror_from
@click.option("--to-insecure", is_flag=True, help="The destination registry speaks plain http.")
@options.blob_parallel
@options.with_global_options
def mirror_(
    opts: GlobalOptions,
    /,
    file: str | None,
    to: str,
    from_: str | None,
    to_insecure: bool,
    parallel: int,
) -> None:
    """Copy FILE's registry models (and the bases its custom models need), manifest and
    every blob with digests preserved, to a registry or an OCI layout.

    \b
    Resumable and idempotent: a blob the destination has is not sent again, every
    blob's sha256 is checked while it streams, and a model's manifest is written
    last, so a model appears at the destination only when whole. Credentials for
    private registries come from the docker config file ($DOCKER_CONFIG/config.json
    or ~/.docker/config.json) or from OLLAMA_PROVISION_REGISTRY_HOST with
    OLLAMA_PROVISION_REGISTRY_USER and _PASSWORD (or _TOKEN).
    """
    from provisioner.commands import mirror as command

    def call() -> int:
        return command.run(
            file, opts, to=to, from_=from_, to_insecure=to_insecure, parallel=parallel
        )

    run_command("mirror", opts, call)


def main() -> None:
    run_group(cli)
