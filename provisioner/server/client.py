"""A thin typed client for the parts of the Ollama API a provisioner uses.

Streams (pull, create) are NDJSON read line by line; an `error` line inside a
200 stream is an error even if `success` follows. Failures map onto the tree
in errors.py and carry the model name and the server's own message.
Transient failures (connection, timeout, 5xx, 429, an in-stream failure that
is not a 4xx-like refusal) are retried with exponential backoff and jitter,
bounded in attempts and total time; 4xx never is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from provisioner.errors import (
    BadAnswer,
    ConnectionFailed,
    HostNotFound,
    NotFound,
    ServerError,
    ServerFailure,
    Timeout,
)
from provisioner.server.failures import error_for_response, error_for_stream, not_json

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0  # seconds per plain request when the manifest sets none
DEFAULT_STALL = 120.0  # seconds without progress before a stream is aborted and retried


@dataclass(frozen=True)
class Progress:
    """One line of a pull/create/upload stream, as a typed event."""

    model: str
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    total_seconds: float = 300.0
    initial_wait: float = 0.5
    max_wait: float = 10.0


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class TagEntry:
    """One model as GET /api/tags lists it."""

    name: str
    digest: str  # "sha256:<hex>": hash of the manifest file on disk (Ollama sends bare hex)
    size: int
    modified_at: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningModel:
    """One model as GET /api/ps lists it."""

    name: str
    digest: str
    size: int
    size_vram: int
    expires_at: str


@dataclass(frozen=True)
class ShowResult:
    """The parts of POST /api/show a provisioner compares; `raw` keeps the rest."""

    system: str
    template: str
    parameters: str
    license: str
    modelfile: str
    capabilities: tuple[str, ...]
    details: Mapping[str, Any]
    messages: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]


def full_digest(digest: str) -> str:
    """The one spelling of a digest inside the tool: "sha256:<hex>", lower case."""
    hex_part = digest.removeprefix("sha256:").lower()
    return f"sha256:{hex_part}" if hex_part else ""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionFailed, ServerFailure))


@dataclass(frozen=True)
class RetryEvent:
    """A request failed and will be tried again."""

    model: str | None
    attempt: int  # the attempt that failed
    attempts: int  # the most the policy makes
    reason: str  # "HTTP 500", "stalled 60s", "connection failed"
    wait: float  # seconds before the next attempt


RetryCallback = Callable[[RetryEvent], None]


def _why(exc: BaseException | None) -> str:
    if isinstance(exc, Timeout) and exc.stalled is not None:
        return f"stalled {exc.stalled:.0f}s"
    if isinstance(exc, ServerError) and exc.status is not None:
        return f"HTTP {exc.status}"
    if isinstance(exc, Timeout):
        return "no answer in time"
    if isinstance(exc, ConnectionFailed):
        return "connection failed"
    return "an error in the stream"


class Client:
    """Synchronous client for one Ollama server. Use as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        stall_timeout: float = DEFAULT_STALL,
        on_request: Callable[[str, str], None] | None = None,
        on_retry: RetryCallback | None = None,
        hint: str = "set --host or OLLAMA_HOST",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.stall_timeout = stall_timeout
        self._timeout = timeout
        self._on_request = on_request
        self._on_retry = on_retry
        self._hint = hint  # what to check when the server cannot be reached
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -----------------------------------------------------------

    def _with_retry(self, fn: Callable[[], T], model: str | None = None) -> T:
        import tenacity  # only when a request is made: keeps start-up light

        policy = self.retry

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if self._on_retry is None or state.outcome is None:
                return
            wait = state.next_action.sleep if state.next_action else 0.0
            reason = _why(state.outcome.exception())
            self._on_retry(RetryEvent(model, state.attempt_number, policy.attempts, reason, wait))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            stop=tenacity.stop_after_attempt(policy.attempts)
            | tenacity.stop_after_delay(policy.total_seconds),
            # Exponential backoff plus jitter, so a fleet does not retry in lockstep.
            wait=tenacity.wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait)
            + tenacity.wait_random(0, policy.initial_wait),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except ServerError as e:
            e.attempts = int(retrying.statistics.get("attempt_number", 1))
            raise

    def _transport_error(self, exc: httpx.HTTPError, model: str | None) -> ServerError:
        where = self.base_url
        if isinstance(exc, httpx.TimeoutException):
            return Timeout(f"no answer from {where} in time", model=model, host=where)
        text = str(exc)
        if isinstance(exc, httpx.ConnectError) and any(
            s in text for s in ("Name or service not known", "nodename nor servname", "getaddrinfo")
        ):
            return HostNotFound(
                f"cannot resolve the host of {where} ({self._hint})", model=model, host=where
            )
        if isinstance(exc, httpx.ConnectError):
            return ConnectionFailed(
                f"cannot connect to {where}: is Ollama running there? ({self._hint})",
                model=model,
                host=where,
            )
        return ConnectionFailed(f"connection to {where} failed: {exc}", model=model, host=where)

    def _json(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        """The answer as a JSON object; an Ollama error body is an error even with a 200."""
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            raise not_json(method, path, response, self.base_url) from None
        if not isinstance(body, dict):
            raise BadAnswer(
                f"{self.base_url}: {method} {path} answered {response.status_code} "
                f"with JSON that is not an object",
                host=self.base_url,
            )
        if isinstance(body.get("error"), str):
            raise error_for_response(response, None, self.base_url)
        return body

    def _request(
        self,
        method: str,
        path: str,
        *,
        model: str | None = None,
        body: Any = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        def once() -> httpx.Response:
            if self._on_request:
                self._on_request(method, path)
            try:
                response = self._http.request(
                    method,
                    path,
                    json=body,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.HTTPError as e:
                raise self._transport_error(e, model) from e
            if response.status_code >= 400:
                raise error_for_response(response, model, self.base_url)
            return response

        return self._with_retry(once, model) if retry else once()

    def _stream(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        model: str,
        on_progress: ProgressCallback | None,
    ) -> Mapping[str, Any]:
        """POST a streaming request, retried as a whole; returns the last line."""

        def once() -> Mapping[str, Any]:
            if self._on_request:
                self._on_request("POST", path)
            try:
                with self._http.stream(
                    "POST",
                    path,
                    json=dict(body),
                    timeout=httpx.Timeout(self._timeout, read=self.stall_timeout),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise error_for_response(response, model, self.base_url)
                    return self._consume(response.iter_lines(), model, on_progress)
            except httpx.HTTPError as e:
                raise self._transport_error(e, model) from e

        return self._with_retry(once, model)

    def _consume(
        self, lines: Iterator[str], model: str, on_progress: ProgressCallback | None
    ) -> Mapping[str, Any]:
        """Read NDJSON lines; fail on an error line or when progress stalls."""
        last: Mapping[str, Any] = {}
        last_change = time.monotonic()
        seen: tuple[Any, ...] = ()
        for raw in lines:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ServerFailure(
                    f"unreadable line in stream: {raw[:80]!r}", model=model, host=self.base_url
                ) from e
            if not isinstance(line, dict):
                continue
            if "error" in line:
                raise error_for_stream(str(line["error"]), model, self.base_url, line.get("status"))
            state = (line.get("status"), line.get("digest"), line.get("completed"))
            now = time.monotonic()
            if state != seen:
                seen, last_change = state, now
            elif now - last_change > self.stall_timeout:
                # Lines keep coming but nothing moves: treat as a stall and retry.
                raise Timeout(
                    f"no progress for {self.stall_timeout:.0f}s",
                    model=model,
                    host=self.base_url,
                    stalled=self.stall_timeout,
                )
            if on_progress is not None:
                on_progress(
                    Progress(
                        model=model,
                        status=str(line.get("status", "")),
                        digest=line.get("digest"),
                        total=line.get("total"),
                        completed=line.get("completed"),
                    )
                )
            last = line
        if last.get("status") != "success":
            raise ServerFailure("stream ended before success", model=model, host=self.base_url)
        return last

    # -- read endpoints -----------------------------------------------------

    def version(self) -> str:
        body = self._json(self._request("GET", "/api/version"), "GET", "/api/version")
        return str(body.get("version", ""))

    def tags(self) -> list[TagEntry]:
        models = self._json(self._request("GET", "/api/tags"), "GET", "/api/tags").get("models")
        models = models or []
        return [
            TagEntry(
                name=m["name"],
                digest=full_digest(m.get("digest", "")),
                size=int(m.get("size", 0)),
                modified_at=m.get("modified_at", ""),
                details=m.get("details") or {},
            )
            for m in models
        ]

    def ps(self) -> list[RunningModel]:
        models = self._json(self._request("GET", "/api/ps"), "GET", "/api/ps").get("models")
        models = models or []
        return [
            RunningModel(
                name=m["name"],
                digest=m.get("digest", ""),
                size=int(m.get("size", 0)),
                size_vram=int(m.get("size_vram", 0)),
                expires_at=m.get("expires_at", ""),
            )
            for m in models
        ]

    def show(self, model: str, *, verbose: bool = False) -> ShowResult:
        body = {"model": model, "verbose": verbose}
        answer = self._request("POST", "/api/show", model=model, body=body)
        data = self._json(answer, "POST", "/api/show")
        return ShowResult(
            system=data.get("system", ""),
            template=data.get("template", ""),
            parameters=data.get("parameters", ""),
            license=data.get("license", ""),
            modelfile=data.get("modelfile", ""),
            capabilities=tuple(data.get("capabilities") or ()),
            details=data.get("details") or {},
            messages=tuple(data.get("messages") or ()),
            raw=data,
        )

    # -- mutating endpoints -------------------------------------------------

    def pull(
        self, model: str, *, insecure: bool = False, on_progress: ProgressCallback | None = None
    ) -> None:
        body = {"model": model, "insecure": insecure, "stream": True}
        self._stream("/api/pull", body, model=model, on_progress=on_progress)

    def create(
        self, request: Mapping[str, Any], *, on_progress: ProgressCallback | None = None
    ) -> None:
        model = str(request.get("model", ""))
        self._stream(
            "/api/create", {**request, "stream": True}, model=model, on_progress=on_progress
        )

    def copy(self, source: str, destination: str) -> None:
        body = {"source": source, "destination": destination}
        self._request("POST", "/api/copy", model=source, body=body)

    def delete(self, model: str) -> None:
        self._request("DELETE", "/api/delete", model=model, body={"model": model})

    def blob_exists(self, digest: str) -> bool:
        try:
            self._request("HEAD", f"/api/blobs/{digest}")
        except NotFound:
            return False
        return True

    def upload_blob(
        self,
        digest: str,
        path: Path,
        *,
        chunk_size: int = 1 << 20,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Stream a file to /api/blobs in constant memory."""
        size = path.stat().st_size

        def chunks() -> Iterator[bytes]:
            sent = 0
            with path.open("rb") as f:
                while block := f.read(chunk_size):
                    sent += len(block)
                    if on_progress is not None:
                        on_progress(Progress(path.name, "uploading", digest, size, sent))
                    yield block

        def once() -> None:
            if self._on_request:
                self._on_request("POST", f"/api/blobs/{digest}")
            try:
                response = self._http.post(
                    f"/api/blobs/{digest}",
                    content=chunks(),
                    headers={"Content-Length": str(size)},
                    timeout=httpx.Timeout(self._timeout, write=self.stall_timeout),
                )
            except httpx.HTTPError as e:
                raise self._transport_error(e, path.name) from e
            if response.status_code >= 400:
                raise error_for_response(response, path.name, self.base_url)

        self._with_retry(once, path.name)

    def load(
        self, model: str, *, keep_alive: str | int | None, embedding: bool
    ) -> Mapping[str, Any]:
        """Load a model into memory: generate with no prompt, or embed with no input."""
        body: dict[str, Any] = {"model": model}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        path = "/api/embed" if embedding else "/api/generate"
        if not embedding:
            body["stream"] = False
        # Loading a large model can take minutes; the usual timeout is for small answers.
        response = self._request("POST", path, model=model, body=body, timeout=600.0)
        return self._json(response, "POST", path)

    def unload(self, model: str) -> None:
        body = {"model": model, "keep_alive": 0, "stream": False}
        self._request("POST", "/api/generate", model=model, body=body)
