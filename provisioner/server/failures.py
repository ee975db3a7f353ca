"""What a failed answer means: HTTP statuses, in-stream error lines and bodies that
are not Ollama's, mapped onto errors.py, with Ollama's own wording translated
where we know it. Version skew is recognized only from an HTTP 412 or Ollama's
exact words, never from "412" somewhere in a message (a port, a digest).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from provisioner.errors import (
    BadAnswer,
    BadRequest,
    ConnectionFailed,
    DiskFull,
    HostNotFound,
    NotFound,
    PlainHttp,
    ServerError,
    ServerFailure,
    Timeout,
    VersionTooOld,
)

_NO_SUCH_HOST = re.compile(r"lookup (?P<host>[^\s:]+)(?: on [^\s]+)?: no such host")
_STATUS_IN_TEXT = re.compile(r"(?:^|: )(?P<code>[45]\d\d)(?::| )")
_PLAIN_HTTP = "server gave HTTP response to HTTPS client"
_NO_SPACE = "no space left on device"


@dataclass(frozen=True)
class Wording:
    """How one client names each way a connection can fail; {exc} is httpx's words."""

    timeout: str
    unresolved: str
    refused: str
    broken: str  # connected, then the exchange failed
    plain_http: str = "{exc}"  # https asked, the other end answered plain http


def transport_error(
    exc: httpx.HTTPError, words: Wording, *, host: str, model: str | None = None
) -> ServerError:
    """The one map from httpx's transport errors onto errors.py, for the Ollama client,
    the registry client and the mirror alike: which error class (and so which retry
    rule and exit code) each gets is decided here only."""
    if isinstance(exc, httpx.TimeoutException):
        kind: type[ServerError] = Timeout
        text = words.timeout
    elif answers_plain_http(exc):
        kind, text = PlainHttp, words.plain_http
    elif unresolvable(exc):
        kind, text = HostNotFound, words.unresolved
    elif isinstance(exc, httpx.ConnectError):
        kind, text = ConnectionFailed, words.refused
    else:
        kind, text = ConnectionFailed, words.broken
    return kind(text.format(exc=exc), model=model, host=host)


def unresolvable(exc: httpx.HTTPError) -> bool:
    """Whether a connection failed because the host name does not resolve."""
    text = str(exc)
    return isinstance(exc, httpx.ConnectError) and any(
        s in text for s in ("Name or service not known", "nodename nor servname", "getaddrinfo")
    )


# What OpenSSL says when the bytes after our ClientHello are an HTTP answer, not TLS.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure")


def answers_plain_http(exc: httpx.HTTPError) -> bool:
    """Whether a TLS handshake failed because the other end speaks plain http."""
    return isinstance(exc, httpx.ConnectError) and any(s in str(exc) for s in _NOT_TLS)


def body_kind(response: httpx.Response) -> str:
    """How to name a body that is not Ollama's JSON, without repeating it."""
    content = response.content.strip()
    if not content:
        return "an empty body"
    if "html" in response.headers.get("content-type", "") or content[:1] == b"<":
        return "an HTML page"
    return "a body that is not JSON"


def ollama_error(response: httpx.Response) -> str | None:
    """The `error` text of an Ollama JSON answer, if it is one."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


def _foreign_answer(response: httpx.Response, host: str, model: str | None) -> ServerError:
    """An error status whose body is not Ollama's: the host, the status and a hint."""
    status = response.status_code
    said = f"{host} answered {status} {response.reason_phrase} ({body_kind(response)})"
    if status in (401, 403):
        return BadRequest(
            f"{said}: check server.headers for the credentials a proxy in front of Ollama expects",
            model=model,
            status=status,
            host=host,
        )
    if status >= 500 or status == 429:
        return ServerFailure(
            f"{said}: the server, or a proxy in front of it, failed",
            model=model,
            status=status,
            host=host,
        )
    return BadRequest(f"{said}: is this an Ollama server?", model=model, status=status, host=host)


def error_for_response(response: httpx.Response, model: str | None, host: str) -> ServerError:
    """Map an HTTP error answer onto our error tree."""
    message = ollama_error(response)
    if message is None and response.request.method == "HEAD":  # a HEAD answer has no body
        message = f"{response.status_code} {response.reason_phrase}"
    elif message is None:
        return _foreign_answer(response, host, model)
    return error_for_status(response.status_code, message, model, host)


def error_for_status(status: int, message: str, model: str | None, host: str) -> ServerError:
    kind: type[ServerError]
    if _NO_SPACE in message.lower():
        kind = DiskFull
    elif status == 404:
        kind = NotFound
    elif status == 412:
        kind = VersionTooOld
    elif status == 429 or status >= 500:
        kind = ServerFailure
    else:
        kind = BadRequest
    return kind(translate(message), model=model, status=status, host=host)


def error_for_stream(message: str, model: str | None, host: str, status: Any = None) -> ServerError:
    """Classify an `error` line that arrived inside a 200 stream."""
    if isinstance(status, int) and 400 <= status < 600:
        return error_for_status(status, message, model, host)
    lowered = message.lower()
    text = translate(message)
    if _NO_SUCH_HOST.search(message):
        return HostNotFound(text, model=model, host=host)
    if _NO_SPACE in lowered:
        return DiskFull(text, model=model, host=host)
    if "file does not exist" in lowered or "not found" in lowered:
        return NotFound(text, model=model, host=host)
    if "requires a newer version of ollama" in lowered:
        return VersionTooOld(text, model=model, host=host)
    code = _STATUS_IN_TEXT.search(message)
    if code is not None:  # a registry status Ollama passed on: "...: 401: unauthorized"
        return error_for_status(int(code["code"]), message, model, host)
    if _PLAIN_HTTP in message or "unauthorized" in lowered or "invalid" in lowered:
        return BadRequest(text, model=model, host=host)
    return ServerFailure(text, model=model, host=host)


def translate(message: str) -> str:
    """Ollama's words, said so a user knows what happened and what to do."""
    found = _NO_SUCH_HOST.search(message)
    if found:
        return (
            f"cannot resolve the registry host {found['host']} (no such host): "
            "check the host in the model's name and this machine's DNS"
        )
    if _NO_SPACE in message.lower():
        return (
            f"the server's disk is full ({message.strip()}): free space where it keeps models "
            "(OLLAMA_MODELS) or remove models it no longer needs, then rerun"
        )
    if message.strip() == "pull model manifest: file does not exist":
        return f"the registry has no such model or tag ({message.strip()})"
    if _PLAIN_HTTP in message:
        return f"the registry speaks plain http, not https ({_PLAIN_HTTP}): set insecure: true"
    return message


def not_json(method: str, path: str, response: httpx.Response, host: str) -> BadAnswer:
    return BadAnswer(
        f"{host}: {method} {path} answered {response.status_code} with {body_kind(response)}",
        status=response.status_code,
        host=host,
    )
