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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from provisioner.errors import (
    BadAnswer,
    NotFound,
    ServerError,
    ServerFailure,
    Timeout,
)
from provisioner.server import answers, bounds
from provisioner.server.answers import Shape
from provisioner.server.failures import (
    Wording,
    error_for_response,
    error_for_stream,
    not_json,
    transport_error,
)
from provisioner.server.retry import DEFAULT_RETRY, RetryCallback, RetryPolicy, with_retry
from provisioner.types.wire import Progress, ProgressCallback, RunningModel, ShowResult, TagEntry

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0  # seconds per plain request when the manifest sets none
# No plain answer is bigger (/api/tags of 10,000 models is about 5 MB), no stream line longer.
MAX_ANSWER_BYTES = 64 << 20
MAX_LINE_BYTES = 1 << 20
MAX_ERROR_BYTES = 1 << 20  # of a stream's error answer: Ollama's error is one short line
DEFAULT_STALL = 120.0  # seconds without progress before a stream is aborted and retried


class Client:
    """Synchronous client for one Ollama server. Use as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        stall_timeout: float = DEFAULT_STALL,
        on_retry: RetryCallback | None = None,
        hint: str = "set --host or OLLAMA_HOST",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.stall_timeout = stall_timeout
        self._timeout = timeout
        self._on_retry = on_retry
        self._hint = hint  # what to check when the server cannot be reached
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=bounds.transport(),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -----------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError, model: str | None) -> ServerError:
        where = self.base_url
        words = Wording(
            timeout=f"no answer from {where} in time",
            unresolved=f"cannot resolve the host of {where} ({self._hint})",
            refused=f"cannot connect to {where}: is Ollama running there? ({self._hint})",
            broken=f"connection to {where} failed: {{exc}}",
            plain_http=f"{where} answers plain http, not TLS: use {_as_http(where)}",
        )
        return transport_error(exc, words, host=where, model=model)

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
            raise BadAnswer(
                f"{self.base_url}: {method} {path} answered {response.status_code} "
                f"with an error: {body['error']}",
                status=response.status_code,
                host=self.base_url,
            )
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
        """One plain request, bounded in time (the whole answer within `timeout`, not
        just each read) and in size; retried by the policy when that helps."""
        seconds = timeout if timeout is not None else self._timeout

        def once() -> httpx.Response:
            try:
                response = bounds.read_bounded(
                    self._http,
                    method,
                    path,
                    json=body,
                    seconds=seconds,
                    limit=MAX_ANSWER_BYTES,
                    too_large=lambda: self._too_large(method, path),
                )
            except httpx.TimeoutException as e:
                raise Timeout(
                    f"{method} {path} on {self.base_url} did not finish in {seconds:g}s",
                    model=model,
                    host=self.base_url,
                ) from e
            except httpx.HTTPError as e:
                raise self._transport_error(e, model) from e
            if response.status_code >= 400:
                raise error_for_response(response, model, self.base_url)
            return response

        return with_retry(once, self.retry, self._on_retry, model) if retry else once()

    def _too_large(self, method: str, path: str) -> BadAnswer:
        return BadAnswer(
            f"{self.base_url}: {method} {path} answered more than "
            f"{MAX_ANSWER_BYTES >> 20} MB; is this an Ollama server?",
            host=self.base_url,
        )

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
            timeout = httpx.Timeout(self._timeout, read=self.stall_timeout)
            request = self._http.build_request("POST", path, json=dict(body), timeout=timeout)
            try:
                # No headers within the stall timeout is no progress; after them, the
                # stream's progress is what is timed (_lines, _consume).
                with bounds.within(self.stall_timeout):
                    response = self._http.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise self._stalled(model, path) from e
            except httpx.HTTPError as e:
                raise self._transport_error(e, model) from e
            try:
                if response.status_code >= 400:
                    with bounds.within(self.stall_timeout):
                        answer = bounds.head_of(response, MAX_ERROR_BYTES)
                    raise error_for_response(answer, model, self.base_url)
                lines = self._lines(response, path, model)
                return self._consume(lines, model, on_progress, path)
            except httpx.ReadTimeout as e:  # the read timeout is the stall timeout
                raise self._stalled(model, path) from e
            except httpx.HTTPError as e:
                raise self._transport_error(e, model) from e
            finally:
                response.close()

        return with_retry(once, self.retry, self._on_retry, model)

    def _lines(self, response: httpx.Response, path: str, model: str) -> Iterator[str]:
        """NDJSON lines, each at most MAX_LINE_BYTES; a stream that sends bytes but no
        whole line within the stall timeout (a slow drip) is a stall."""
        pending = b""
        last_line = time.monotonic()
        for chunk in response.iter_bytes():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if lines:
                last_line = time.monotonic()
            for line in lines:
                yield line.decode("utf-8", errors="replace")
            if len(pending) > MAX_LINE_BYTES:
                raise BadAnswer(
                    f"{self.base_url}: POST {path} sent a line longer than "
                    f"{MAX_LINE_BYTES >> 20} MB; is this an Ollama server?",
                    host=self.base_url,
                )
            if time.monotonic() - last_line > self.stall_timeout:
                raise self._stalled(model, path)
        if pending.strip():
            yield pending.decode("utf-8", errors="replace")

    def _consume(
        self,
        lines: Iterator[str],
        model: str,
        on_progress: ProgressCallback | None,
        path: str = "/api/pull",
    ) -> Mapping[str, Any]:
        """Read NDJSON lines; fail on an error line, a broken line, or when progress
        (status, layer, completed bytes) does not move for the stall timeout."""
        where = f"{self.base_url}: POST {path}"
        last: Mapping[str, Any] = {}
        last_change = time.monotonic()
        seen: tuple[Any, ...] = ()
        for raw in lines:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                what = "an HTML page" if raw.lstrip().startswith("<") else "a line that is not JSON"
                raise ServerFailure(
                    f"{where} sent {what}", model=model, host=self.base_url
                ) from None
            if not isinstance(line, dict):
                raise ServerFailure(
                    f"{where} sent a line that is not a JSON object",
                    model=model,
                    host=self.base_url,
                )
            if "error" in line:
                raise error_for_stream(str(line["error"]), model, self.base_url, line.get("status"))
            progress = answers.progress(line, model, where)
            state = (progress.status, progress.digest, progress.completed)
            now = time.monotonic()
            if state != seen:
                seen, last_change = state, now
            elif now - last_change > self.stall_timeout:
                # Lines keep coming but nothing moves: treat as a stall and retry.
                raise self._stalled(model, path)
            if on_progress is not None:
                on_progress(progress)
            last = line
        if last.get("status") != "success":
            raise ServerFailure(f"{where} ended before success", model=model, host=self.base_url)
        return last

    def _stalled(self, model: str, path: str) -> Timeout:
        return Timeout(
            f"{self.base_url}: POST {path} made no progress for {self.stall_timeout:g}s",
            model=model,
            host=self.base_url,
            stalled=self.stall_timeout,
        )

    # -- read endpoints -----------------------------------------------------

    def _shaped(self, method: str, path: str) -> Shape:
        return Shape(self.base_url, method, path)

    def version(self) -> str:
        body = self._json(self._request("GET", "/api/version"), "GET", "/api/version")
        with self._shaped("GET", "/api/version"):
            return answers.version(body)

    def tags(self) -> list[TagEntry]:
        body = self._json(self._request("GET", "/api/tags"), "GET", "/api/tags")
        with self._shaped("GET", "/api/tags"):
            return answers.tags(body)

    def ps(self) -> list[RunningModel]:
        body = self._json(self._request("GET", "/api/ps"), "GET", "/api/ps")
        with self._shaped("GET", "/api/ps"):
            return answers.running(body)

    def show(self, model: str, *, verbose: bool = False) -> ShowResult:
        body = {"model": model, "verbose": verbose}
        answer = self._request("POST", "/api/show", model=model, body=body)
        data = self._json(answer, "POST", "/api/show")
        with self._shaped("POST", "/api/show"):
            return answers.show(data)

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
        self._done(self._request("POST", "/api/copy", model=source, body=body), "POST", "/api/copy")

    def delete(self, model: str) -> None:
        answer = self._request("DELETE", "/api/delete", model=model, body={"model": model})
        self._done(answer, "DELETE", "/api/delete")

    def _done(self, response: httpx.Response, method: str, path: str) -> None:
        """Ollama answers a done copy or delete with nothing (`null` or an object would do
        too); a 200 carrying an error or a page is not done."""
        if response.content.strip() not in (b"", b"null"):
            self._json(response, method, path)

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

        with_retry(once, self.retry, self._on_retry, path.name)

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


def _as_http(url: str) -> str:
    return "http://" + url.removeprefix("https://")
