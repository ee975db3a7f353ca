"""Registry credentials and the answers to a registry's 401 challenge.

Where credentials come from, first match wins, for the host being asked:

1. the environment: OLLAMA_PROVISION_REGISTRY_HOST names the one registry host the
   others are for (so a password is never sent to any other registry), with
   OLLAMA_PROVISION_REGISTRY_USER and OLLAMA_PROVISION_REGISTRY_PASSWORD (basic auth,
   or a token endpoint's credentials), or OLLAMA_PROVISION_REGISTRY_TOKEN (a bearer
   token sent as is);
2. the docker config file `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`),
   as `docker login` writes it: `auths.<host>.auth` (base64 of user:password), or
   `username`/`password`, `identitytoken` (an OAuth2 refresh token for the token
   endpoint) and `registrytoken` (a bearer token). Credential helpers (`credsStore`,
   `credHelpers`) are not run.

The file is read only when a registry asks for credentials, so a broken or absent
docker config never gets in the way of an anonymous registry. Every value found (and
every token a token endpoint hands out) is registered with provisioner.secrets, so it
is masked wherever this tool prints.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from provisioner import secrets
from provisioner.errors import AuthFailed, BadAnswer, UsageError
from provisioner.server.bounds import SMALL_ANSWER_BYTES, read_bounded

ENV_HOST = "OLLAMA_PROVISION_REGISTRY_HOST"
ENV_USER = "OLLAMA_PROVISION_REGISTRY_USER"
ENV_PASSWORD = "OLLAMA_PROVISION_REGISTRY_PASSWORD"
ENV_TOKEN = "OLLAMA_PROVISION_REGISTRY_TOKEN"
CLIENT_ID = "ollama-provision"
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    source: str  # where they came from, for messages: "the environment", a file path
    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # OAuth2 refresh token for the token endpoint
    registry_token: str | None = None  # a bearer token sent as is

    @property
    def basic(self) -> str | None:
        """The Authorization value for basic auth, when there is a user and password."""
        if self.username is None or self.password is None:
            return None
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def register(self) -> None:
        values = [self.password, self.identity_token, self.registry_token, self.basic]
        secrets.register(v for v in values if v)


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer", lower case
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """`WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest)))


def normalize_host(key: str) -> str:
    """A docker config `auths` key (`https://h:5000/v1/`, `h:5000`) as host[:port]."""
    _, sep, rest = key.partition("://")
    return (rest if sep else key).split("/", 1)[0].lower()


def docker_config_path(env: Mapping[str, str]) -> Path:
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder).expanduser() / "config.json"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "config.json"


def parse_docker_config(text: str, source: str) -> dict[str, Credentials]:
    """The credentials in a docker config file, by host (pure: for tests and for reading)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{source}: not JSON ({e}); fix or remove it") from None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return {}
    found: dict[str, Credentials] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        found[normalize_host(str(key))] = _entry(entry, f"{source} (auths.{key})")
    return found


def _entry(entry: Mapping[str, object], source: str) -> Credentials:
    def text(field: str) -> str | None:
        value = entry.get(field)
        return value if isinstance(value, str) and value else None

    username, password = text("username"), text("password")
    encoded = text("auth")
    if encoded is not None:
        try:
            pair = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(f"{source}: `auth` is not base64 of user:password") from None
        if ":" not in pair:
            raise UsageError(f"{source}: `auth` does not decode to user:password")
        username, password = pair.split(":", 1)
    return Credentials(
        source=source,
        username=username,
        password=password,
        identity_token=text("identitytoken"),
        registry_token=text("registrytoken"),
    )


def credentials_from_env(host: str, env: Mapping[str, str]) -> Credentials | None:
    if normalize_host(env.get(ENV_HOST, "")) != host.lower() or not host:
        return None
    token = env.get(ENV_TOKEN) or None
    user, password = env.get(ENV_USER) or None, env.get(ENV_PASSWORD)
    if token is None and (user is None or password is None):
        raise UsageError(f"{ENV_HOST}={host} needs {ENV_USER} and {ENV_PASSWORD}, or {ENV_TOKEN}")
    return Credentials("the environment", user, password, registry_token=token)


def find_credentials(host: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for host (host[:port]) from the environment or the docker config."""
    env = os.environ if env is None else env
    found = credentials_from_env(host, env)
    if found is None:
        path = docker_config_path(env)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise UsageError(f"{path}: cannot read the docker config: {e.strerror}") from None
        found = parse_docker_config(text, str(path)).get(host.lower())
    if found is not None:
        found.register()
    return found


def fetch_token(
    client: httpx.Client,
    challenge: Challenge,
    credentials: Credentials | None,
    *,
    seconds: float = 30.0,
) -> str | None:
    """Ask a bearer challenge's token endpoint for a token (anonymously without credentials).

    The answer is read within `seconds` and SMALL_ANSWER_BYTES (the client must use
    bounds.transport()). Returns None when the endpoint gives no token; the caller
    reports the 401."""
    params = dict(challenge.params)
    realm = params.pop("realm", None)
    if not realm:
        return None

    def too_large() -> BadAnswer:
        return BadAnswer(
            f"the token endpoint {realm} answered more than {SMALL_ANSWER_BYTES >> 20} MB, "
            "which no token is"
        )

    request: dict[str, Any]
    if credentials is not None and credentials.identity_token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.identity_token,
            "client_id": CLIENT_ID,
            **params,
        }
        method, request = "POST", {"data": form}
    else:
        basic = credentials.basic if credentials is not None else None
        headers = {"Authorization": basic} if basic else {}
        method, request = "GET", {"params": params, "headers": headers}
    answer = read_bounded(
        client,
        method,
        realm,
        seconds=seconds,
        limit=SMALL_ANSWER_BYTES,
        too_large=too_large,
        **request,
    )
    if answer.status_code != 200:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    if not token:
        return None
    secrets.register([str(token)])
    return str(token)


@dataclass(frozen=True)
class Answer:
    """What to send after a 401: the Authorization header, and whether it holds for the
    whole registry (basic auth, a registry token) or for one repository and action."""

    header: str
    registry_wide: bool


def answer_challenge(
    client: httpx.Client,
    header: str,
    credentials: Credentials | None,
    *,
    seconds: float,
) -> Answer | None:
    """The one answer to a registry's 401 (its WWW-Authenticate header), for the Ollama
    side's manifest reads and the mirror alike; None when there is nothing to try."""
    if credentials is not None and credentials.registry_token:
        return Answer(f"Bearer {credentials.registry_token}", registry_wide=True)
    challenge = parse_challenge(header)
    if challenge is None:
        return None
    if challenge.scheme == "basic":
        basic = credentials.basic if credentials is not None else None
        return Answer(basic, registry_wide=True) if basic else None
    if challenge.scheme != "bearer":
        return None
    token = fetch_token(client, challenge, credentials, seconds=seconds)
    return Answer(f"Bearer {token}", registry_wide=False) if token else None


def auth_failed(
    host: str, what: str, credentials: Credentials | None, *, model: str | None = None
) -> AuthFailed:
    """A registry's final 401/403, in one line that says what to do: log in when we had
    no credentials, else which credentials (user, and where they came from) it refused."""
    if credentials is None:
        where = docker_config_path(os.environ)
        message = (
            f"registry {host} requires authentication for {what}: "
            f"log in (docker login {host}, which writes {where}) or set "
            f"{ENV_HOST}={host} with {ENV_USER} and {ENV_PASSWORD}"
        )
    else:
        user = f" for user {credentials.username}" if credentials.username else ""
        message = (
            f"registry {host} refused the credentials{user} from {credentials.source} for {what}"
        )
    return AuthFailed(message, model=model, status=401, host=host)
