"""The options more than one command declares, for cli.py: the global ones (accepted
before the command name and after it, and checked against the command), the
manifest argument, and their types. Light to import: `--help` and `--version` load
this and click only."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from provisioner.errors import UsageError
from provisioner.views.formats import Output, check_output

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_FILE = "models.yaml"
_GLOBAL = "ollama-provision.global-options"

# The commands that run over a fleet (--inventory, or --host given more than once).
FLEET_COMMANDS = ("plan", "apply", "drift", "status", "warm")


@dataclass(frozen=True)
class GlobalOptions:
    """--host, --inventory, --fleet-parallel, --output, --verbose, --quiet."""

    hosts: tuple[str, ...] = ()
    inventory: str | None = None
    fleet_parallel: int = 4
    output: Output = Output.TEXT
    verbose: bool = False
    quiet: bool = False

    @property
    def host(self) -> str | None:
        """The one server of a single-server run (None: the manifest's, or OLLAMA_HOST)."""
        return self.hosts[0] if len(self.hosts) == 1 else None

    @property
    def fleet(self) -> bool:
        return self.inventory is not None or len(self.hosts) > 1

    @property
    def text(self) -> bool:
        return self.output is Output.TEXT


def check_options(command: str, opts: GlobalOptions) -> None:
    """Refuse, before anything runs, what the command cannot do with these options."""
    check_output(command, opts.output, fleet=opts.fleet and command in FLEET_COMMANDS)
    if opts.fleet and command not in FLEET_COMMANDS:
        raise UsageError(
            f"{command} works on one server; --inventory and repeated --host are for "
            f"{', '.join(FLEET_COMMANDS[:-1])} and {FLEET_COMMANDS[-1]}"
        )
    if opts.inventory is not None and opts.hosts:
        raise UsageError("give --inventory or --host, not both")


def _remember(ctx: click.Context, /, param: click.Parameter, value: object) -> object:
    """Keep a global option's value on the root context; a later one (after the
    command name) overrides an earlier one (before it)."""
    if value is None or value is False or value == () or param.name is None:
        return value
    remembered: dict[str, object] = ctx.find_root().meta.setdefault(_GLOBAL, {})
    if isinstance(value, tuple):  # --host, repeatable: before and after the command add up
        earlier = remembered.get(param.name, ())
        value = (*(earlier if isinstance(earlier, tuple) else ()), *value)
    remembered[param.name] = value
    return value


def json_requested(argv: list[str]) -> bool:
    """Whether the command line asks for -o json, read from the words themselves: for a
    usage error click found before it parsed the options (the last one given wins)."""
    chosen = None
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word in ("-o", "--output") and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif word.startswith("--output="):
            chosen = word.removeprefix("--output=")
        elif word.startswith("-o") and len(word) > 2 and not word.startswith("--"):
            chosen = word[2:]
    return chosen == Output.JSON.value


def _global(*decls: str, **attrs: Any) -> Callable[[F], F]:
    return click.option(*decls, callback=_remember, expose_value=False, **attrs)


_GLOBAL_OPTIONS = (
    _global("--quiet", "-q", is_flag=True, help="Only failures and the final summary line."),
    _global("--verbose", "-v", is_flag=True, help="Show the traceback behind an error."),
    _global(
        "--output",
        "-o",
        type=click.Choice([o.value for o in Output]),
        help="text for people (the default), json for machines; markdown: the status "
        "matrix or a fleet's summary (CI summaries); openmetrics: drift for Prometheus.",
    ),
    _global(
        "--fleet-parallel",
        type=click.IntRange(1, 64),
        help="Servers handled at once in a fleet run (default 4).",
    ),
    _global(
        "--inventory",
        type=click.Path(dir_okay=False),
        help="A YAML inventory of servers (name, host, labels...): run on all of them.",
    ),
    _global(
        "--host",
        "hosts",
        multiple=True,
        help="Ollama server URL (else manifest, else OLLAMA_HOST); repeat it for a fleet.",
    ),
)


def global_options(fn: F) -> F:
    """--host, --inventory, --fleet-parallel, -o, -v, -q (the group's, before the command)."""
    for option in _GLOBAL_OPTIONS:
        fn = option(fn)
    return fn


def with_global_options(fn: Callable[Concatenate[GlobalOptions, P], R]) -> Callable[P, R]:
    """The global options again (after the command name), and all of them, from before
    and after, given to the command as its first argument."""

    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(options_of(click.get_current_context()), *args, **kwargs)

    return global_options(command)


def options_of(ctx: click.Context) -> GlobalOptions:
    """The global options as given, before and after the command name."""
    given: dict[str, Any] = ctx.find_root().meta.get(_GLOBAL, {})
    defaults = GlobalOptions()
    return GlobalOptions(
        hosts=given.get("hosts", defaults.hosts),
        inventory=given.get("inventory", defaults.inventory),
        fleet_parallel=given.get("fleet_parallel", defaults.fleet_parallel),
        output=Output(given.get("output", defaults.output)),
        verbose=given.get("verbose", defaults.verbose),
        quiet=given.get("quiet", defaults.quiet),
    )


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


def _layout_path(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--from oci:PATH: the folder (checked when the apply opens it)."""
    if value is None:
        return None
    if not value.startswith("oci:") or value == "oci:":
        raise click.BadParameter(f"{value!r}: give oci:PATH, a folder `mirror --to oci:` wrote")
    return value.removeprefix("oci:")


manifest_file = click.argument(
    "file", default=DEFAULT_FILE, type=click.Path(dir_okay=False, allow_dash=True)
)
check_updates = click.option(
    "--check-updates", is_flag=True, help="Compare each tag with the registry's current digest."
)
target = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only this declared model and what it needs (repeatable); no pruning.",
)
prune = click.option(
    "--prune/--no-prune", default=None, help="Delete undeclared models (overrides prune.enabled)."
)
stall_timeout = click.option(
    "--stall-timeout",
    default="2m",
    show_default=True,
    type=_Duration(),
    help="How long a pull or create may go without progress before it is aborted and "
    "retried: seconds or a duration such as 90s or 2m.",
)
from_layout = click.option(
    "--from",
    "from_",
    metavar="oci:PATH",
    callback=_layout_path,
    help="Pull every model from this OCI layout (written by `mirror --to oci:PATH`) instead "
    "of its registry: served to the server on 127.0.0.1 for the time of the apply, so the "
    "server must run on this machine.",
)
allow_unset = click.option(
    "--allow-unset",
    is_flag=True,
    help="An unset ${VAR} without a default is a warning, not an error (for editors and "
    "pre-commit, which see a manifest without its secrets).",
)
pull_parallel = click.option(
    "--parallel",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="How many pulls run at once.",
)
locked = click.option(
    "--locked", is_flag=True, help="Refuse, before any change, anything that differs from the lock."
)
output_file = click.option(
    "--output-file",
    "-f",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (atomically) instead of to stdout.",
)
mirror_to = click.option(
    "--to",
    "to",
    required=True,
    metavar="DEST",
    help="HOST[:PORT][/PREFIX] (a registry) or oci:PATH (an OCI image layout on disk).",
)
mirror_from = click.option(
    "--from",
    "from_",
    metavar="oci:PATH",
    help="Read the models from this layout instead of their registries "
    "(without FILE: every model it holds).",
)
blob_parallel = click.option(
    "--parallel",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="How many blobs move at once.",
)
