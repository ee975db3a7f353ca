"""The output formats (--output), and which command prints which.

The one place that says what a command can print: the CLI's choice list is
the members of Output, and a command given a format it has no view for is
one usage line, before anything runs.
"""

from __future__ import annotations

from enum import Enum

from provisioner.errors import UsageError


class Output(str, Enum):
    """A view family; a str, so its value is what the user typed and what JSON names."""

    TEXT = "text"  # for people; live progress on a terminal
    JSON = "json"  # for machines: schemas/output.schema.json
    MARKDOWN = "markdown"  # a CI summary: the plan, the status matrix, a fleet's table
    OPENMETRICS = "openmetrics"  # drift for Prometheus (textfile collector, Pushgateway)


# What each command prints; any command not named prints text and JSON.
_PRINTS: dict[str, tuple[Output, ...]] = {
    "plan": (Output.TEXT, Output.JSON, Output.MARKDOWN),
    "apply": (Output.TEXT, Output.JSON, Output.MARKDOWN),
    "drift": (Output.TEXT, Output.JSON, Output.MARKDOWN, Output.OPENMETRICS),
    "status": (Output.TEXT, Output.JSON, Output.MARKDOWN),
    "warm": (Output.TEXT, Output.JSON),
}
_FLEET_ADDS = (Output.MARKDOWN,)  # a fleet's summary table, for every fleet command


def accepted(command: str, *, fleet: bool) -> tuple[Output, ...]:
    """The formats `command` prints, on one server or over a fleet."""
    allowed = _PRINTS.get(command, (Output.TEXT, Output.JSON))
    if fleet:
        allowed = (*allowed, *(o for o in _FLEET_ADDS if o not in allowed))
    return allowed


def check_output(command: str, output: Output, *, fleet: bool) -> None:
    """Refuse, in one line, a format the command has no view for."""
    allowed = accepted(command, fleet=fleet)
    if output not in allowed:
        choose = ", ".join(sorted(o.value for o in allowed))
        raise UsageError(f"{command} has no --output {output.value}; choose {choose}")
