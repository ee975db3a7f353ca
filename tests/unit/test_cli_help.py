"""The help texts say what the options do (issue 10): every option has help, and
apply's says what happens to undeclared models."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from provisioner import cli as cli_module


@pytest.mark.parametrize("name", sorted(cli_module.cli.commands))
def test_every_option_of_every_command_has_help(name: str) -> None:
    command = cli_module.cli.commands[name]
    bare = [
        p.name
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert bare == [], f"{name}: options without help: {bare}"


def test_apply_help_says_undeclared_models_are_left_alone_unless_pruning() -> None:
    result = CliRunner().invoke(cli_module.cli, ["apply", "--help"], terminal_width=200)
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert "Undeclared models are left alone unless pruning is on" in said
    assert "--parallel INTEGER RANGE How many pulls run at once." in said
