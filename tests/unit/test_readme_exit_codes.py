"""The README's command table says every exit code a command can give (issue 18, item 7).

No server is needed for the cases here: nothing listens on the port asked, or the
command stops before it connects.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from tests.integration.cli_runner import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_exits() -> dict[str, set[int]]:
    """command -> the exit codes its row of the README's table lists."""
    table = README.read_text().split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    found: dict[str, set[int]] = {}
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        command = re.match(r"`(\w+)", cells[0])
        assert command, row
        found[command.group(1)] = {int(n) for n in re.findall(r"\d+", cells[-1])}
    return found


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the socket is


def test_the_readme_lists_the_exit_code_of_status_without_a_server() -> None:
    ran = run_cli("--host", closed_port(), "status")
    assert ran.code == 1, ran.err
    assert ran.code in documented_exits()["status"]


def test_the_readme_lists_the_exit_code_of_export_onto_an_existing_file(tmp_path: Path) -> None:
    there = tmp_path / "exists.yaml"
    there.write_text("keep me\n")
    ran = run_cli("--host", closed_port(), "export", "-f", str(there))
    assert ran.code == 2, ran.err
    assert "--force" in ran.err
    assert there.read_text() == "keep me\n"
    assert ran.code in documented_exits()["export"]


def test_every_command_row_lists_the_usage_exit(tmp_path: Path) -> None:
    exits = documented_exits()
    assert set(exits) >= {"validate", "plan", "apply", "drift", "status", "export", "lock"}
    for command, codes in exits.items():
        ran = run_cli(command, "--no-such-option")
        assert ran.code == 2, (command, ran.err)
        assert 2 in codes, command
