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
    hosts: tuple[str, ...] = ()
    inventory: str | None = None
    fleet_parallel: int = 4
    output: str = "text"
    verbose: bool = False
    quiet: bool = False

    @property
    def host(self) -> str | None:
        """The one server of a single-server run (None: the manifest's, or OLLAMA_HOST)."""
        return self.hosts[0] if len(self.hosts) == 1 else None

    @property
    def fleet(self) -> bool:
        return self.inventory is not None or len(self.hosts) > 1


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
        _emit_error_document(opts, "interrupted", exit_codes.INTERRUPTED, e)
        code = exit_codes.INTERRUPTED
    except Exception as e:
        if opts.verbose:
            raise
        from provisioner.commands.common import error_lines, exit_code_for

        lines = error_lines(e)
        for line in lines:
            click.echo(line, err=True)
        code = exit_code_for(e)
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
    if value is None or value is False or value == () or param.name is None:
        return value
    remembered = ctx.find_root().meta.setdefault(_GLOBAL, {})
    if isinstance(value, tuple):  # --host, repeatable: before and after the command add up
        value = (*remembered.get(param.name, ()), *value)
    remembered[param.name] = value
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
            type=click.Choice(["text", "json", "markdown", "openmetrics"]),
            help="text for people (the default), json for machines; markdown: the status "
            "matrix or a fleet's summary (CI summaries); openmetrics: drift for Prometheus.",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--fleet-parallel",
            type=click.IntRange(1, 64),
            help="Servers handled at once in a fleet run (default 4).",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--inventory",
            type=click.Path(dir_okay=False),
            help="A YAML inventory of servers (name, host, labels...): run on all of them.",
            callback=_remember,
            expose_value=False,
        ),
        click.option(
            "--host",
            "hosts",
            multiple=True,
            help="Ollama server URL (else manifest, else OLLAMA_HOST); repeat it for a fleet.",
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


def _layout_path(value: str | None) -> str | None:
    """--from oci:PATH: the folder (checked when the apply opens it)."""
    if value is None:
        return None
    if not value.startswith("oci:") or value == "oci:":
        raise click.BadParameter(f"{value!r}: give oci:PATH, a folder `mirror --to oci:` wrote")
    return value.removeprefix("oci:")


def _settings(opts: GlobalOptions, **chosen: Any) -> Settings:
    from provisioner.reconcile.core import Settings

    return Settings(host=opts.host, **chosen)


# Which --output each command prints; a fleet adds markdown (its summary) to the rest.
_OUTPUTS = {
    "plan": ("text", "json", "markdown"),
    "apply": ("text", "json", "markdown"),
    "drift": ("text", "json", "markdown", "openmetrics"),
    "status": ("text", "json", "markdown"),
    "warm": ("text", "json"),
}


def _check_output(opts: GlobalOptions, command: str) -> None:
    from provisioner.errors import UsageError

    allowed = _OUTPUTS.get(command, ("text", "json"))
    if opts.fleet and command in _OUTPUTS:
        allowed = (*allowed, "markdown")
    if opts.output not in allowed:
        raise UsageError(
            f"{command} has no --output {opts.output}; choose {', '.join(sorted(set(allowed)))}"
        )
    if command not in _OUTPUTS and opts.fleet:
        raise UsageError(
            f"{command} works on one server; --inventory and repeated --host are for "
            "plan, apply, drift, status and warm"
        )
    if opts.inventory is not None and opts.hosts:
        raise UsageError("give --inventory or --host, not both")


def _checked(opts: GlobalOptions, command: str, run: Callable[[], int]) -> Callable[[], int]:
    """The command, after its options are checked (inside _run, so errors are one line)."""

    def checked() -> int:
        _check_output(opts, command)
        return run()

    return checked


def _servers(opts: GlobalOptions) -> Any:
    from provisioner.fleet.inventory import from_hosts, load_inventory

    return load_inventory(opts.inventory) if opts.inventory else from_hosts(opts.hosts)


def _fleet(
    opts: GlobalOptions,
    command: str,
    file: str | None,
    settings: Settings,
    make_job: Callable[[Any, Any], Any] | None = None,
    *,
    drift_exit: bool = False,
) -> Callable[[], int]:
    """The command over every server of the fleet (or, for the status matrix and
    openmetrics, over the one server of a single-server run)."""

    def fleet_run() -> int:
        from provisioner.commands import fleet
        from provisioner.commands.common import echo_notes
        from provisioner.fleet.inventory import resolved
        from provisioner.manifest.load import load_manifest

        _check_output(opts, command)
        manifest = load_manifest(file) if file is not None else None
        if opts.output == "text":
            echo_notes(manifest, None)
        # One --host is a fleet of one here: it must win over the manifest's host.
        servers = _servers(opts) if opts.fleet or opts.hosts else (
            resolved(manifest.server.host if manifest else None),
        )  # fmt: skip
        options = _fleet_options(opts)
        if command == "status":
            return fleet.status_matrix(servers, manifest, settings, options)
        if command == "drift" and opts.output == "openmetrics":
            assert manifest is not None
            return fleet.openmetrics(servers, manifest, settings, options)
        assert make_job is not None
        job = make_job(manifest, options)
        return fleet.run(command, servers, job, options, drift_exit=drift_exit)

    return fleet_run


def _fleet_options(opts: GlobalOptions) -> Any:
    from provisioner.commands.fleet import Options

    return Options(opts.output, opts.verbose, opts.quiet, opts.fleet_parallel)


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
        _checked(
            opts,
            "validate",
            lambda: command.run(
                list(files) or [DEFAULT_FILE], output=opts.output, allow_unset=allow_unset
            ),
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
@click.option(
    "--from",
    "from_",
    metavar="oci:PATH",
    callback=lambda _ctx, _param, value: _layout_path(value),
    help="Pull every model from this OCI layout (written by `mirror --to oci:PATH`) instead "
    "of its registry: served to the server on 127.0.0.1 for the time of the apply, so the "
    "server must run on this machine.",
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
    from_: str | None,
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
        from_layout=from_,
    )
    if opts.fleet:
        from provisioner.commands import fleet

        def job(manifest: Any, options: Any) -> Any:
            return fleet.apply_job(manifest, settings, options, dry_run=dry_run, yes=yes)

        _run(opts, _fleet(opts, "apply", file, settings, job))
    _run(
        opts,
        _checked(
            opts,
            "apply",
            lambda: command.run(
                file,
                settings,
                output=opts.output,
                quiet=opts.quiet,
                dry_run=dry_run,
                yes=yes,
                verbose=opts.verbose,
            ),
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
    if opts.fleet:
        from provisioner.commands import fleet

        def job(manifest: Any, options: Any) -> Any:
            return fleet.plan_job(manifest, settings, options, exit_code)

        _run(opts, _fleet(opts, "plan", file, settings, job, drift_exit=exit_code))
    _run(
        opts,
        _checked(
            opts,
            "plan",
            lambda: command.run(
                file,
                settings,
                output=opts.output,
                exit_code=exit_code,
                verbose=opts.verbose,
                quiet=opts.quiet,
            ),
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
    if opts.fleet or opts.output == "openmetrics":
        from provisioner.commands import fleet

        def job(manifest: Any, options: Any) -> Any:
            return fleet.drift_job(manifest, settings, options)

        _run(opts, _fleet(opts, "drift", file, settings, job, drift_exit=True))
    _run(
        opts,
        _checked(
            opts,
            "drift",
            lambda: command.run(
                file, settings, output=opts.output, verbose=opts.verbose, quiet=opts.quiet
            ),
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

    if opts.fleet:
        from provisioner.commands import fleet

        def job(manifest: Any, options: Any) -> Any:
            return fleet.warm_job(manifest, _settings(opts), options)

        _run(opts, _fleet(opts, "warm", file, _settings(opts), job))
    _run(
        opts,
        _checked(opts, "warm", lambda: command.run(file, _settings(opts), output=opts.output)),
    )


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@_check_updates
@_global_options
@click.pass_context
def status(ctx: click.Context, /, file: str | None, check_updates: bool) -> None:
    """List the server's models: size, digest, loaded or not, and (given FILE) in sync or
    not; with --check-updates, also whether a tag moved at its registry (outdated)."""
    opts = _opts(ctx)
    from provisioner.commands import status as command

    settings = _settings(opts, check_updates=check_updates)
    if opts.fleet or opts.output == "markdown":
        _run(opts, _fleet(opts, "status", file, settings))
    _run(
        opts,
        _checked(opts, "status", lambda: command.run(file, settings, output=opts.output)),
    )


@cli.command()
@_file
@_global_options
@click.pass_context
def lock(ctx: click.Context, /, file: str) -> None:
    """Write <stem>.lock.json: the digest every tag resolves to and a hash of every custom model."""
    opts = _opts(ctx)
    from provisioner.commands import lock as command

    _run(opts, _checked(opts, "lock", lambda: command.run(file, output=opts.output)))


@cli.command(name="export")
@click.option(
    "--output-file",
    "-f",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (atomically) instead of to stdout.",
)
@click.option("--force", is_flag=True, help="Replace --output-file if it exists.")
@click.option(
    "--exact",
    is_flag=True,
    help="Build (and delete) a throwaway model where reads cannot tell an inherited "
    "TEMPLATE from a restated one: the one export that writes to the server.",
)
@_global_options
@click.pass_context
def export_(ctx: click.Context, /, output_file: str | None, force: bool, exact: bool) -> None:
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
    - Reads only (GET, HEAD, POST /api/show). A custom model whose TEMPLATE
      equals its base's is written as inherited, with a comment: reads cannot
      tell it from a restated one. --exact builds it once more under a
      throwaway name (created, compared, deleted) to settle it.
    """
    opts = _opts(ctx)
    from provisioner.commands import export as command

    _run(
        opts,
        _checked(
            opts,
            "export",
            lambda: command.run(
                output_file,
                host=opts.host,
                force=force,
                quiet=opts.quiet,
                output=opts.output,
                exact=exact,
            ),
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

    _run(
        opts,
        _checked(
            opts,
            "init",
            lambda: command.run(file, force=force, quiet=opts.quiet, output=opts.output),
        ),
    )


@cli.command(name="mirror")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--to",
    "to",
    required=True,
    metavar="DEST",
    help="HOST[:PORT][/PREFIX] (a registry) or oci:PATH (an OCI image layout on disk).",
)
@click.option(
    "--from",
    "from_",
    metavar="oci:PATH",
    help="Read the models from this layout instead of their registries "
    "(without FILE: every model it holds).",
)
@click.option("--to-insecure", is_flag=True, help="The destination registry speaks plain http.")
@click.option(
    "--parallel",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="How many blobs move at once.",
)
@_global_options
@click.pass_context
def mirror_(
    ctx: click.Context,
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
    opts = _opts(ctx)
    from provisioner.commands import mirror as command

    _run(
        opts,
        _checked(
            opts,
            "mirror",
            lambda: command.run(
                file,
                to=to,
                from_=from_,
                to_insecure=to_insecure,
                parallel=parallel,
                output=opts.output,
                quiet=opts.quiet,
                default_file=DEFAULT_FILE,
            ),
        ),
    )


def main() -> None:
    cli(prog_name="ollama-provision")
