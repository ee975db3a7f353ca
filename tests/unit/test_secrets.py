"""Header values never reach any output, even when a server echoes them back."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner import cli as cli_module
from provisioner import secrets
from provisioner.errors import BadRequest
from provisioner.manifest.load import load_manifest
from provisioner.secrets import mask

SECRET = "s3cr3t-T0KEN-42"


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\nserver:\n  headers:\n    Authorization: Bearer ${TOKEN}\n"
        "models:\n  - name: tiny\n"
    )
    return path


@pytest.mark.parametrize("output", ["text", "json"])
def test_an_echoed_header_is_masked_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    import provisioner.commands.drift as drift

    def echoing_proxy(file: str, *args: object, **kwargs: object) -> int:
        load_manifest(file)
        raise BadRequest(f"unauthorized: bad credentials Bearer {SECRET}", model="tiny")

    monkeypatch.setattr(drift, "run", echoing_proxy)
    result = CliRunner().invoke(
        cli_module.cli, ["-o", output, "drift", str(_manifest(tmp_path))], env={"TOKEN": SECRET}
    )
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "unauthorized: bad credentials ***" in result.output


def test_mask_hides_the_value_with_and_without_its_scheme(tmp_path: Path) -> None:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TOKEN", SECRET)
    load_manifest(_manifest(tmp_path))
    monkeypatch.undo()
    assert mask(f"got Bearer {SECRET} and {SECRET}") == "got *** and ***"


@pytest.mark.parametrize(
    ("server", "said"),
    [
        ("  host: http://user:pass@example.com:11434\n", "must not carry user:password@"),
        ("  headers:\n    X-Name: café\n", "only ASCII"),
    ],
)
def test_credentials_in_the_url_and_non_ascii_headers_fail_validation(
    tmp_path: Path, server: str, said: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(f"version: 1\nserver:\n{server}models: []\n")
    result = CliRunner().invoke(cli_module.cli, ["validate", str(path)])
    assert result.exit_code == 2 and said in result.output


@pytest.mark.parametrize("secret", ['quo"te-T0KEN', "back\\slash-T0KEN", "n\u00e4ive-T0KEN"])
def test_a_value_json_escapes_is_masked_in_json_too(secret: str) -> None:
    import json

    from provisioner import secrets

    secrets.register([f"Bearer {secret}"])
    for ensure_ascii in (True, False):
        shown = mask(json.dumps({"error": f"bad credentials {secret}"}, ensure_ascii=ensure_ascii))
        assert json.loads(shown) == {"error": "bad credentials ***"}


def test_an_escaped_header_value_is_masked_in_the_json_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import provisioner.commands.drift as drift

    secret = 'pa"ss\\w0rd-42'

    def echoing_proxy(file: str, *args: object, **kwargs: object) -> int:
        load_manifest(file)
        raise BadRequest(f"unauthorized: bad credentials Bearer {secret}", model="tiny")

    monkeypatch.setattr(drift, "run", echoing_proxy)
    result = CliRunner().invoke(
        cli_module.cli, ["-o", "json", "drift", str(_manifest(tmp_path))], env={"TOKEN": secret}
    )
    assert result.exit_code == 1
    assert "bad credentials ***" in result.output
    assert "w0rd-42" not in result.output


def test_clear_forgets_every_value() -> None:
    secrets.register(["Bearer forget-me-please"])
    assert secrets.mask("x forget-me-please y") == "x *** y"
    secrets.clear()
    assert secrets.mask("x forget-me-please y") == "x forget-me-please y"
