"""The exceptions this package raises, one tree so callers catch the level they need.

ProvisionError
├── ManifestError        the manifest is invalid (carries file:line:col per problem)
├── ModelfileError       a Modelfile cannot be parsed (file, line, column)
└── ServerError          the Ollama server refused or failed a request
    ├── NotFound         404, or a registry that lacks the model
    ├── BadRequest       400 and other 4xx
    ├── VersionTooOld    412, or a REQUIRES newer than the server
    ├── ServerFailure    5xx, or an error line inside a 200 stream
    └── ConnectionFailed cannot reach the server
        └── Timeout      connected but no answer in time
"""

from __future__ import annotations

from dataclasses import dataclass


class ProvisionError(Exception):
    """Base of every error this tool reports as one line."""


class ServerError(ProvisionError):
    """A request to the Ollama server failed.

    `model` names the model the request was about (if any), `message` is the
    server's own words, `status` the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status: int | None = None,
        host: str | None = None,
    ) -> None:
        self.message = message
        self.model = model
        self.status = status
        self.host = host
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f"{self.model}: " if self.model else ""
        return f"{where}{self.message}"


class NotFound(ServerError):
    """The model (or blob) does not exist where it was looked for."""


class BadRequest(ServerError):
    """The server rejected the request as invalid (4xx other than 404/412)."""


class VersionTooOld(ServerError):
    """The server is too old for what was asked (HTTP 412 or REQUIRES)."""


class ServerFailure(ServerError):
    """The server failed (5xx) or reported an error inside a stream."""


class ConnectionFailed(ServerError):
    """The server could not be reached."""


class Timeout(ConnectionFailed):
    """The server was reached but did not answer (or stalled) in time."""


class LockError(ProvisionError):
    """The lock is missing, unreadable, or disagrees with the manifest (a usage error)."""


class ModelfileError(ProvisionError):
    """A Modelfile cannot be turned into a create request; names file:line:col."""

    def __init__(self, message: str, *, file: str, line: int, column: int) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(f"{file}:{line}:{column}: {message}")


@dataclass(frozen=True)
class Position:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, with the place it was written."""

    position: Position
    path: str  # JSON-pointer-like path in the document, e.g. /models/2/name
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


class ManifestError(ProvisionError):
    """The manifest is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid manifest"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)
