"""Whatever goes wrong, the CLI prints one line; the traceback only with --verbose."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner import cli as cli_module


def _boom(*args: object, **kwargs: object) -> int:
    raise RuntimeError("boom")


def test_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import provisioner.commands.warm as warm

    monkeypatch.setattr(warm, "run", _boom)
    result = CliRunner().invoke(cli_module.cli, ["warm", str(tmp_path / "m.yaml")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: unexpected RuntimeError: boom (rerun with --verbose and report it)"
    ]


def test_verbose_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import provisioner.commands.warm as warm

    monkeypatch.setattr(warm, "run", _boom)
    result = CliRunner().invoke(cli_module.cli, ["--verbose", "warm", str(tmp_path / "m.yaml")])
    assert isinstance(result.exception, RuntimeError)


def test_unwritable_lock_is_one_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nmodels: []\n")
    (tmp_path / "m.lock.json").mkdir()  # the lock cannot replace a folder, even as root
    result = CliRunner().invoke(cli_module.cli, ["lock", str(manifest)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "Traceback" not in result.output


def test_lock_refuses_standard_input_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_module.cli, ["lock", "-"], input="version: 1\nmodels: []\n", env={}
    )
    assert result.exit_code == 2
    assert "lock needs a manifest file, not standard input (-)" in result.output
    assert not list(Path.cwd().glob("<stdin>*"))


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-o", "json", "bogus"], "No such command 'bogus'"),
        (["-o", "json", "apply", "--parallel", "0"], "Invalid value for '--parallel'"),
        (["--output=json", "mirror", "demo.yaml"], "Missing option '--to'"),
        (["-ojson", "plan", "--nope"], "No such option '--nope'"),
    ],
)
def test_a_usage_error_under_json_is_an_error_document_too(argv: list[str], said: str) -> None:
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "provisioner", *argv], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    doc = json.loads(run.stdout)  # one document, and nothing else on stdout
    assert (doc["kind"], doc["exit_code"]) == ("error", 2)
    assert doc["error"].startswith(said), doc
    assert "Usage:" in run.stderr  # stderr keeps click's usage text


def test_json_requested_reads_the_words_as_click_would() -> None:
    from provisioner.commands.options import json_requested

    assert json_requested(["-o", "json", "x"]) and json_requested(["--output=json"])
    assert json_requested(["-o", "text", "plan", "-o", "json"])  # the last one wins
    assert not json_requested(["-o", "text"]) and not json_requested(["--", "-o", "json"])
