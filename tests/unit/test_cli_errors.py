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
