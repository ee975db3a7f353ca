"""Command-line entry point: parses options and dispatches to provisioner.commands.

Nothing else lives here. Every ProvisionError becomes one line on stderr and
an exit code; a traceback only with --verbose.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from provisioner import exit_codes
from provisioner.errors import LockError, ManifestError, ModelfileError, ProvisionError


@dataclass(frozen=True)
class GlobalOptions:
    host: str | None
    output: str
    verbose: bool
    quiet: bool


def _guarded(opts: GlobalOptions, fn: Callable[[], int]) -> int:
    """Run a command; turn our errors into one line and an exit code."""
    try:
        return fn()
    except KeyboardInterrupt:
        click.echo("interrupted; rerun the same command to converge", err=True)
        return exit_codes.INTERRUPTED
    except (ManifestError, ModelfileError, LockError) as e:
        if opts.verbose:
            raise
        problems = getattr(e, "problems", None)
        for line in [str(p) for p in problems] if problems else [str(e)]:
            click.echo(f"error: {line}", err=True)
        return exit_codes.USAGE
    except ProvisionError as e:
        if opts.verbose:
            raise
        click.echo(f"error: {e}", err=True)
        return exit_codes.FAILED
    except OSError as e:  # a file we were told to read or write
        if opts.verbose:
            raise
        where = f" {e.filename}" if e.filename else ""
        click.echo(f"error:{where}: {e.strerror or e}", err=True)
        return exit_codes.FAILED
    except Exception as e:  # a bug of ours: still one line, the traceback on request
        if opts.verbose:
            raise
        click.echo(
            f"error: unexpected {type(e).__name__}: {e} (rerun with --verbose and report it)",
            err=True,
        )
        return exit_codes.FAILED


def _dispatch(opts: GlobalOptions, verb: str, *args: Any, **kwargs: Any) -> NoReturn:
    """Run commands/<verb>.py's run() and exit with its code.

    Imported on use, so `--help` and completion stay fast.
    """
    command = importlib.import_module(f"{__package__}.commands.{verb}")
    sys.exit(_guarded(opts, lambda: int(command.run(*args, **kwargs))))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", envvar=None, help="Ollama server URL (else manifest, else OLLAMA_HOST).")
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--verbose", "-v", is_flag=True, help="Show the traceback behind an error.")
@click.option("--quiet", "-q", is_flag=True, help="Only errors and the final summary.")
@click.version_option(package_name="ollama-provision")
@click.pass_context
def cli(ctx: click.Context, host: str | None, output: str, verbose: bool, quiet: bool) -> None:
    """Models-as-code for Ollama: declare models in YAML, reconcile a server to it."""
    ctx.obj = GlobalOptions(host=host, output=output, verbose=verbose, quiet=quiet)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def validate(opts: GlobalOptions, files: tuple[str, ...]) -> None:
    """Check manifest files; exit 0 when all are valid, 2 otherwise."""
    _dispatch(opts, "validate", list(files), output=opts.output)


def _manifest_arg(fn: Callable[..., None]) -> Callable[..., None]:
    return click.argument("file", type=click.Path(dir_okay=False))(fn)


_check_updates = click.option(
    "--check-updates", is_flag=True, help="Compare each tag with the registry's current digest."
)
_prune = click.option(
    "--prune/--no-prune", default=None, help="Delete undeclared models (overrides prune.enabled)."
)


@cli.command()
@_manifest_arg
@click.option("--parallel", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--dry-run", is_flag=True, help="Print the plan; send no mutating request.")
@click.option("--yes", "-y", is_flag=True, help="Allow deletions without a prompt.")
@click.option(
    "--stall-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds without progress before a pull is aborted and retried.",
)
@_prune
@_check_updates
@click.option(
    "--locked", is_flag=True, help="Refuse, before any change, anything that differs from the lock."
)
@click.pass_obj
def apply(
    opts: GlobalOptions,
    file: str,
    parallel: int,
    dry_run: bool,
    yes: bool,
    stall_timeout: float,
    prune: bool | None,
    check_updates: bool,
    locked: bool,
) -> None:
    """Make the server hold exactly what FILE declares."""
    _dispatch(
        opts,
        "apply",
        file,
        host=opts.host,
        output=opts.output,
        quiet=opts.quiet,
        parallel=parallel,
        dry_run=dry_run,
        prune=prune,
        yes=yes,
        check_updates=check_updates,
        stall_timeout=stall_timeout,
        locked=locked,
    )


@cli.command()
@_manifest_arg
@click.option("--exit-code", is_flag=True, help="Exit 3 when changes are pending.")
@_prune
@_check_updates
@click.pass_obj
def plan(
    opts: GlobalOptions, file: str, exit_code: bool, prune: bool | None, check_updates: bool
) -> None:
    """Show what apply would do, and why, without changing anything."""
    _dispatch(
        opts,
        "plan",
        file,
        host=opts.host,
        output=opts.output,
        exit_code=exit_code,
        prune=prune,
        check_updates=check_updates,
    )


@cli.command()
@_manifest_arg
@_check_updates
@click.pass_obj
def drift(opts: GlobalOptions, file: str, check_updates: bool) -> None:
    """Report how the server differs from FILE; exit 3 on drift (the CI check)."""
    _dispatch(opts, "drift", file, host=opts.host, output=opts.output, check_updates=check_updates)


@cli.command()
@_manifest_arg
@click.pass_obj
def warm(opts: GlobalOptions, file: str) -> None:
    """Load the manifest's `warm: true` models into memory and report their expiry."""
    _dispatch(opts, "warm", file, host=opts.host, output=opts.output)


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def status(opts: GlobalOptions, file: str | None) -> None:
    """List the server's models: size, digest, loaded or not, and (given FILE) in sync or not."""
    _dispatch(opts, "status", file, host=opts.host, output=opts.output)


@cli.command()
@_manifest_arg
@click.pass_obj
def lock(opts: GlobalOptions, file: str) -> None:
    """Write <stem>.lock.json: the digest every tag resolves to and a hash of every custom model."""
    _dispatch(opts, "lock", file, output=opts.output)


@cli.command(name="export")
@click.option(
    "--output-file",
    "-f",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (atomically) instead of to stdout.",
)
@click.option("--force", is_flag=True, help="Replace --output-file if it exists.")
@click.pass_obj
def export_(opts: GlobalOptions, output_file: str | None, force: bool) -> None:
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
    """
    _dispatch(opts, "export", output_file, host=opts.host, force=force, quiet=opts.quiet)


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_obj
def init(opts: GlobalOptions, file: str | None, force: bool) -> None:
    """Write a commented starter manifest to FILE (default: models.yaml)."""
    _dispatch(opts, "init", file, force=force, quiet=opts.quiet)


def main() -> None:
    cli(prog_name="ollama-provision")
