"""Registry credentials: the docker config file, the environment, challenges."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from provisioner import secrets
from provisioner.errors import UsageError
from provisioner.server.registry_auth import (
    Challenge,
    Credentials,
    docker_config_path,
    fetch_token,
    find_credentials,
    normalize_host,
    parse_challenge,
    parse_docker_config,
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_docker_config_auth_and_token_forms() -> None:
    text = json.dumps(
        {
            "auths": {
                "https://Mirror.Corp:5000/v1/": {"auth": _b64("me:pa:ss")},
                "other": {"username": "u", "password": "p"},
                "tok": {"identitytoken": "refresh", "registrytoken": "bearer"},
            },
            "credsStore": "desktop",
        }
    )
    found = parse_docker_config(text, "cfg")
    assert found["mirror.corp:5000"].username == "me"
    assert found["mirror.corp:5000"].password == "pa:ss"  # only the first ':' splits
    assert found["other"].basic == "Basic " + _b64("u:p")
    assert found["tok"].identity_token == "refresh"
    assert found["tok"].registry_token == "bearer"
    assert found["tok"].basic is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"auths": {"h": {"auth": "***"}}}', "not base64"),
        (json.dumps({"auths": {"h": {"auth": _b64("nocolon")}}}), "user:password"),
    ],
)
def test_a_broken_docker_config_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"cfg.*{message}"):
        parse_docker_config(text, "cfg")


def test_config_path_follows_docker_config(tmp_path: Path) -> None:
    assert docker_config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert docker_config_path({"HOME": "/home/x"}) == Path("/home/x/.docker/config.json")


def test_environment_wins_only_for_its_own_host(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"h:1": {"auth": _b64("file:user-secret")}}})
    )
    env = {
        "DOCKER_CONFIG": str(tmp_path),
        "OLLAMA_PROVISION_REGISTRY_HOST": "h:1",
        "OLLAMA_PROVISION_REGISTRY_USER": "env",
        "OLLAMA_PROVISION_REGISTRY_PASSWORD": "env-secret",
    }
    found = find_credentials("h:1", env)
    assert found is not None and found.username == "env"
    assert found.source == "the environment"
    env["OLLAMA_PROVISION_REGISTRY_HOST"] = "elsewhere"
    found = find_credentials("h:1", env)
    assert found is not None and found.username == "file"
    assert find_credentials("h:2", env) is None


def test_found_secrets_are_masked() -> None:
    found = Credentials("x", "user", "a-long-password-42")
    found.register()
    assert "a-long-password-42" not in secrets.mask("echo a-long-password-42")
    assert found.basic is not None
    assert found.basic.split(" ")[1] not in secrets.mask(f"got {found.basic}")


def test_half_set_environment_is_a_usage_error() -> None:
    env = {"OLLAMA_PROVISION_REGISTRY_HOST": "h", "OLLAMA_PROVISION_REGISTRY_USER": "u"}
    with pytest.raises(UsageError, match="OLLAMA_PROVISION_REGISTRY_PASSWORD"):
        find_credentials("h", env)


def test_no_config_file_means_no_credentials(tmp_path: Path) -> None:
    assert find_credentials("h", {"DOCKER_CONFIG": str(tmp_path)}) is None


def test_parse_challenge() -> None:
    assert parse_challenge(
        'Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull,push"'
    ) == Challenge(
        "bearer",
        {"realm": "https://auth/token", "service": "reg", "scope": "repository:a/b:pull,push"},
    )
    assert parse_challenge('Basic realm="Registry Realm"') == Challenge(
        "basic", {"realm": "Registry Realm"}
    )
    assert parse_challenge("") is None


def test_normalize_host() -> None:
    assert normalize_host("https://index.docker.io/v1/") == "index.docker.io"
    assert normalize_host("H:5000") == "h:5000"


def _token_endpoint(seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"token": "issued-token-123"})

    return httpx.Client(transport=httpx.MockTransport(answer))


CHALLENGE = Challenge(
    "bearer",
    {"realm": "https://auth.example/token", "service": "reg", "scope": "repository:a:pull"},
)


def test_fetch_token_anonymously_with_the_challenge_parameters() -> None:
    seen: list[httpx.Request] = []
    assert fetch_token(_token_endpoint(seen), CHALLENGE, None) == "issued-token-123"
    (request,) = seen
    assert request.method == "GET"
    assert dict(request.url.params) == {"service": "reg", "scope": "repository:a:pull"}
    assert "authorization" not in request.headers
    assert "issued-token-123" not in secrets.mask("token issued-token-123")


def test_fetch_token_with_a_password_or_a_refresh_token() -> None:
    seen: list[httpx.Request] = []
    fetch_token(_token_endpoint(seen), CHALLENGE, Credentials("cfg", "u", "p"))
    assert seen[0].headers["authorization"] == "Basic " + _b64("u:p")
    fetch_token(_token_endpoint(seen), CHALLENGE, Credentials("cfg", identity_token="refresh-1"))
    form = dict(item.split("=") for item in seen[1].content.decode().split("&"))
    assert seen[1].method == "POST"
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-1"
    assert form["service"] == "reg"
