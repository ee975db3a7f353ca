"""Command-line entry point: parses options and calls one command function.

Nothing else lives here. Each command's module is imported only when that
command runs, so `--help`, `--version` and completion stay fast. Every
ProvisionError becomes one line on stderr (and, under --output json, an error
document on stdout) and an exit code; a traceback only with --verbose.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from provisioner import exit_codes

if TYPE_CHECKING:  # the core is imported only when a command runs
    from provisioner.reconcile.core import Settings

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_FILE = "models.yaml"


@dataclass(frozen=True)
class GlobalOptions:
    host: str | None = None
    output: str = "text"
    verbose: bool = False
    quiet: bool = False


def _usage_error(e: BaseException) -> bool:
    from provisioner.errors import (
        LockError,
        ManifestError,
        ModelfileError,
        UsageError,
        WouldOverwrite,
    )

    return isinstance(e, (ManifestError, ModelfileError, LockError, UsageError, WouldOverwrite))


def _error_lines(e: BaseException) -> list[str]:
    from provisioner.errors import ManifestError, ProvisionError, Refused

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


def _exit_code(e: BaseException) -> int:
    if isinstance(e, KeyboardInterrupt):
        return exit_codes.INTERRUPTED
    return exit_codes.USAGE if _usage_error(e) else exit_codes.FAILED


def _run(opts: GlobalOptions, command: Callable[[], int]) -> NoReturn:
    """Run a command; turn any error into one line (and a JSON error document) and exit.
    Everything written passes through secrets.mask: no header value is ever printed."""
    from provisioner.secrets import MaskedStream

    sys.stdout = MaskedStream(sys.stdout)
    sys.stderr = MaskedStream(sys.stderr)
    try:
        code = command()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`status | head -1`): what it read was printed; end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = exit_codes.OK
    except KeyboardInterrupt as e:
        click.echo("interrupted; rerun the same command to converge", err=True)
        _emit_error_document(opts, "interrupted", _exit_code(e), e)
        code = exit_codes.INTERRUPTED
    except Exception as e:
        if opts.verbose:
            raise
        lines = _error_lines(e)
        for line in lines:
            click.echo(line, err=True)
        code = _exit_code(e)
        _emit_error_document(opts, lines[0].removeprefix("error: "), code, e)
    sys.exit(code)


def _emit_error_document(opts: GlobalOptions, message: str, code: int, e: BaseException) -> None:
    if opts.output != "json":
        return
    import json

    from provisioner.errors import ManifestError
    from provisioner.views.json_docs import error_document

    problems = e.problems if isinstance(e, ManifestError) else ()
    click.echo(json.dumps(error_document(message, code, problems)))


_GLOBAL = "ollama-provision.global-options"


def _remember(ctx: click.Context, /, param: click.Parameter, value: Any) -> Any:
    """Keep a global option's value on the root context; a later one (after the
    command name) overrides an earlier one (before it)."""
    if value is not None and value is not False and param.name is not None:
        ctx.find_root().meta.setdefault(_GLOBAL, {})[param.name] = value
    return value


def _global_options(fn: F) -> F:
    """--host, -o, -v, -q: accepted before the command name and after it."""
    for option in (
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            help="Only failures and the final summary line.",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            help="Show the traceback behind an error.",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--output",
            "-o",
            type=click.Choice(["text", "json"]),
            help="text for people (the default), json for machines.",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--host",
            help="Ollama server URL (else manifest, else OLLAMA_HOST).",
            callback=_remember,
            expose_value=False,
        ),
    ):
        fn = option(fn)
    return fn


def _opts(ctx: click.Context) -> GlobalOptions:
    return GlobalOptions(**ctx.find_root().meta.get(_GLOBAL, {}))


class _Duration(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """Seconds, or a duration as the manifest writes them (90s, 2m, 1h30m)."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        from provisioner.errors import InvalidDuration
        from provisioner.manifest.durations import timeout_seconds

        text = str(value).strip()
        try:
            return timeout_seconds(float(text) if _is_number(text) else text)
        except InvalidDuration as e:
            self.fail(f"{value!r}: {e}", param, ctx)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _settings(opts: GlobalOptions, **chosen: Any) -> Settings:
    from provisioner.reconcile.core import Settings

    return Settings(host=opts.host, **chosen)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_global_options
@click.version_option(package_name="ollama-provision")
def cli() -> None:
    """Models-as-code for Ollama: declare models in YAML, reconcile a server to it."""


_file = click.argument(
    "file", default=DEFAULT_FILE, type=click.Path(dir_okay=False, allow_dash=True)
)
_check_updates = click.option(
    "--check-updates", is_flag=True, help="Compare each tag with the registry's current digest."
)
_target = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only this declared model and what it needs (repeatable); no pruning.",
)
_prune = click.option(
    "--prune/--no-prune", default=None, help="Delete undeclared models (overrides prune.enabled)."
)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--allow-unset",
    is_flag=True,
    help="An unset ${VAR} without a default is a warning, not an error (for editors and "
    "pre-commit, which see a manifest without its secrets).",
)
@_global_options
@click.pass_context
def validate(ctx: click.Context, /, files: tuple[str, ...], allow_unset: bool) -> None:
    """Check manifest files (default: models.yaml); exit 0 when all are valid, 2 otherwise."""
    opts = _opts(ctx)
    from provisioner.commands import validate as command

    _run(
        opts,
        lambda: command.run(
            list(files) or [DEFAULT_FILE], output=opts.output, allow_unset=allow_unset
        ),
    )


@cli.command()
@_file
@click.option(
    "--parallel",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="How many pulls run at once.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; send no mutating request.")
@click.option("--yes", "-y", is_flag=True, help="Allow deletions by pruning without a prompt.")
@click.option(
    "--stall-timeout",
    default="2m",
    show_default=True,
    type=_Duration(),
    help="How long a pull or create may go without progress before it is aborted and "
    "retried: seconds or a duration such as 90s or 2m.",
)
@_prune
@_target
@_check_updates
@click.option(
    "--locked", is_flag=True, help="Refuse, before any change, anything that differs from the lock."
)
@_global_options
@click.pass_context
def apply(
    ctx: click.Context,
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
) -> None:
    """Make the server hold what FILE declares.

    Undeclared models are left alone unless pruning is on (--prune or
    prune.enabled), and then deleted only with --yes or a yes at the prompt.
    """
    opts = _opts(ctx)
    from provisioner.commands import apply as command

    settings = _settings(
        opts,
        check_updates=check_updates,
        prune=prune,
        locked=locked,
        parallel=parallel,
        stall_timeout=stall_timeout,
        targets=targets,
    )
    _run(
        opts,
        lambda: command.run(
            file,
            settings,
            output=opts.output,
            quiet=opts.quiet,
            dry_run=dry_run,
            yes=yes,
            verbose=opts.verbose,
        ),
    )


@cli.command()
@_file
@click.option("--exit-code", is_flag=True, help="Exit 3 when changes are pending.")
@_prune
@_target
@_check_updates
@_global_options
@click.pass_context
def plan(
    ctx: click.Context,
    /,
    file: str,
    exit_code: bool,
    prune: bool | None,
    targets: tuple[str, ...],
    check_updates: bool,
) -> None:
    """Show what apply would do, and why, without changing anything."""
    opts = _opts(ctx)
    from provisioner.commands import plan as command

    settings = _settings(opts, check_updates=check_updates, prune=prune, targets=targets)
    _run(
        opts,
        lambda: command.run(
            file,
            settings,
            output=opts.output,
            exit_code=exit_code,
            verbose=opts.verbose,
            quiet=opts.quiet,
        ),
    )


@cli.command()
@_file
@_target
@_check_updates
@_global_options
@click.pass_context
def drift(ctx: click.Context, /, file: str, targets: tuple[str, ...], check_updates: bool) -> None:
    """Report how the server differs from FILE; exit 3 on drift (the CI check)."""
    opts = _opts(ctx)
    from provisioner.commands import drift as command

    settings = _settings(opts, check_updates=check_updates, targets=targets)
    _run(
        opts,
        lambda: command.run(
            file, settings, output=opts.output, verbose=opts.verbose, quiet=opts.quiet
        ),
    )


@cli.command()
@_file
@_global_options
@click.pass_context
def warm(ctx: click.Context, /, file: str) -> None:
    """Load the manifest's `warm: true` models into memory and report their expiry."""
    opts = _opts(ctx)
    from provisioner.commands import warm as command

    _run(opts, lambda: command.run(file, _settings(opts), output=opts.output))


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@_global_options
@click.pass_context
def status(ctx: click.Context, /, file: str | None) -> None:
    """List the server's models: size, digest, loaded or not, and (given FILE) in sync or not."""
    opts = _opts(ctx)
    from provisioner.commands import status as command

    _run(opts, lambda: command.run(file, _settings(opts), output=opts.output))


@cli.command()
@_file
@_global_options
@click.pass_context
def lock(ctx: click.Context, /, file: str) -> None:
    """Write <stem>.lock.json: the digest every tag resolves to and a hash of every custom model."""
    opts = _opts(ctx)
    from provisioner.commands import lock as command

    _run(opts, lambda: command.run(file, output=opts.output))


@cli.command(name="export")
@click.option(
    "--output-file",
    "-f",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (atomically) instead of to stdout.",
)
@click.option("--force", is_flag=True, help="Replace --output-file if it exists.")
@_global_options
@click.pass_context
def export_(ctx: click.Context, /, output_file: str | None, force: bool) -> None:
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
    - A custom model whose TEMPLATE equals its base's is built once more under a
      throwaway name (created, compared, deleted) to learn whether that template
      is its own layer: the only way to re-create it with the same digest.
    """
    opts = _opts(ctx)
    from provisioner.commands import export as command

    _run(
        opts,
        lambda: command.run(
            output_file, host=opts.host, force=force, quiet=opts.quiet, output=opts.output
        ),
    )


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@_global_options
@click.pass_context
def init(ctx: click.Context, /, file: str | None, force: bool) -> None:
    """Write a commented starter manifest to FILE (default: models.yaml)."""
    opts = _opts(ctx)
    from provisioner.commands import init as command

    _run(opts, lambda: command.run(file, force=force, quiet=opts.quiet, output=opts.output))


def main() -> None:
    cli(prog_name="ollama-provision")
