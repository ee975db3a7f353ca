"""Command-line entry point: parses options and dispatches to provisioner.commands.

Nothing else lives here. Every ProvisionError becomes one line on stderr and
an exit code; a traceback only with --verbose.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import click

from . import exit_codes
from .errors import ManifestError, ModelfileError, ProvisionError


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
    except (ManifestError, ModelfileError) as e:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", envvar=None, help="Ollama server URL (else manifest, else OLLAMA_HOST).")
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and request details.")
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
    from .commands import validate as command

    sys.exit(_guarded(opts, lambda: command.run(list(files), output=opts.output)))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--parallel", default=2, show_default=True, type=click.IntRange(1, 16))
@click.pass_obj
def apply(opts: GlobalOptions, file: str, parallel: int) -> None:
    """Make the server hold exactly what FILE declares."""
    from .commands import apply as command

    sys.exit(
        _guarded(
            opts,
            lambda: command.run(
                file, host=opts.host, output=opts.output, quiet=opts.quiet, parallel=parallel
            ),
        )
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--exit-code", is_flag=True, help="Exit 3 when changes are pending.")
@click.pass_obj
def plan(opts: GlobalOptions, file: str, exit_code: bool) -> None:
    """Show what apply would do, and why, without changing anything."""
    from .commands import plan as command

    sys.exit(
        _guarded(
            opts,
            lambda: command.run(file, host=opts.host, output=opts.output, exit_code=exit_code),
        )
    )


def main() -> None:
    cli(prog_name="ollama-provision")
