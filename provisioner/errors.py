"""The exceptions this package raises, one tree so callers catch the level they need.

ProvisionError
├── ManifestError        the manifest is invalid (carries file:line:col per problem)
├── ModelfileError       a Modelfile cannot be parsed (file, line, column)
├── LockError            the lock is missing, unreadable, or disagrees with the manifest
├── Cancelled            the user interrupted an apply
├── Refused              apply --locked found a difference from the lock; nothing changed
├── StalePlan            a saved plan no longer matches what it was made from (exit 1)
├── UsageError           an option or setting that cannot be used (exit 2), e.g. --host ftp://x
├── WouldOverwrite       a file exists and --force was not given (a usage error)
├── InvalidOutput        what we were about to write does not validate (a bug of ours)
├── LocalFileError       a FROM/ADAPTER file cannot be read (fails that model only)
│   └── WeightsNotFound  a folder holds no weights Ollama would take
├── DigestMismatch       mirror: bytes that do not hash to their digest (nothing committed)
└── ServerError          the Ollama server refused or failed a request
    ├── NotFound         404, or a registry that lacks the model
    ├── BadRequest       400 and other 4xx
    │   ├── AuthFailed   a registry wants credentials we lack, or refused ours
    │   └── PlainHttp    https spoken to a plain-http server or registry (not retried)
    ├── HostNotFound     a registry host name that does not resolve (not retried)
    ├── DiskFull         the server's disk is full (not retried)
    ├── BadAnswer        an answer that is not what the endpoint gives (not JSON, wrong shape)
    ├── VersionTooOld    412, or a REQUIRES newer than the server
    ├── ServerFailure    5xx, or an error line inside a 200 stream
    └── ConnectionFailed cannot reach the server
        └── Timeout      connected but no answer in time

Raised while parsing and turned into a positioned Problem before a user sees
them: InvalidName and InvalidDuration (ValueError), YamlFailure. And
TargetExists (FileExistsError): the atomic writer was told not to replace.
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
        self.attempts = 1  # set by the retry policy when it gave up
        super().__init__(self.describe())

    def reason(self) -> str:
        """The message, and how many attempts were made when there were several."""
        tried = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.message}{tried}"

    def describe(self) -> str:
        where = f"{self.model}: " if self.model else ""
        return f"{where}{self.reason()}"

    def __str__(self) -> str:
        return self.describe()


class NotFound(ServerError):
    """The model (or blob) does not exist where it was looked for."""


class BadRequest(ServerError):
    """The server rejected the request as invalid (4xx other than 404/412)."""


class AuthFailed(BadRequest):
    """The registry wants credentials we do not have, or refused the ones we sent."""


class PlainHttp(BadRequest):
    """TLS was spoken to a server that answers plain http: retrying cannot help."""


class HostNotFound(ServerError):
    """A host name that does not resolve: retrying in seconds will not help."""


class DiskFull(ServerError):
    """The server has no space left for the model: retrying cannot help."""


class BadAnswer(ServerError):
    """The server answered, but not with what the endpoint gives (not JSON, wrong shape)."""


class VersionTooOld(ServerError):
    """The server is too old for what was asked (HTTP 412 or REQUIRES)."""


class ServerFailure(ServerError):
    """The server failed (5xx) or reported an error inside a stream."""


class ConnectionFailed(ServerError):
    """The server could not be reached."""


class Timeout(ConnectionFailed):
    """The server was reached but did not answer (or stalled) in time."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        host: str | None = None,
        stalled: float | None = None,  # seconds without progress, for a stalled stream
    ) -> None:
        self.stalled = stalled
        super().__init__(message, model=model, host=host)


def registry_refused(e: ServerError) -> bool:
    """Whether a registry's answer to us decides what a pull of that model will meet.
    Not when nothing answered from here, or it answered 5xx (a server elsewhere may
    still reach it), nor for a 412 (it answers our client's version, not the server's)."""
    unreachable = isinstance(e, (ConnectionFailed, HostNotFound, ServerFailure))
    return not unreachable and e.status != 412


class LockError(ProvisionError):
    """The lock is missing, unreadable, or disagrees with the manifest (a usage error)."""


class Cancelled(ProvisionError):
    """The user interrupted the apply (Ctrl-C); streams stop at their next line."""


class Refused(ProvisionError):
    """apply --locked would not leave the server as the lock says: nothing was changed.

    `reasons` holds one line per model."""

    def __init__(self, reasons: tuple[str, ...]) -> None:
        self.reasons = reasons
        super().__init__("refusing to apply: " + "; ".join(reasons))


class UsageError(ProvisionError):
    """An option or setting that cannot be used as given (exit 2)."""


class StalePlan(ProvisionError):
    """A saved plan was made from another manifest, lock or server state than today's:
    applying it would not do what was reviewed, so nothing is changed (exit 1)."""


class WouldOverwrite(ProvisionError):
    """The target exists and replacing it was not asked for (--force)."""


class DigestMismatch(ProvisionError):
    """Bytes that do not hash to the digest they were fetched by (mirror): nothing
    built from them was committed at the destination."""

    def __init__(self, digest: str, where: str, detail: str) -> None:
        self.digest = digest
        self.where = where
        super().__init__(f"{where}: blob {digest} is corrupt ({detail}); nothing written for it")


class InvalidOutput(ProvisionError):
    """What we were about to write does not load as a manifest: a bug of ours."""


class ModelfileError(ProvisionError):
    """A Modelfile cannot be turned into a create request; names file:line:col."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int,
        column: int,
        more: tuple[ModelfileError, ...] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.more = more  # the other problems of the same Modelfile, each at its place
        super().__init__(f"{file}:{line}:{column}: {message}")

    @property
    def every(self) -> tuple[ModelfileError, ...]:
        """This problem and the others found in the same Modelfile, in file order."""
        return (self, *self.more)


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


# Raised while parsing; callers turn them into a Problem at file:line:col.


class InvalidName(ValueError):
    """A model reference Ollama would reject."""


class InvalidDuration(ValueError):
    """A value that neither Ollama nor Go would read as a duration."""


class YamlFailure(Exception):
    """A problem that stops reading the document (the tree would be unusable)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


# Local files.


class LocalFileError(ProvisionError):
    """A FROM/ADAPTER file cannot be read; fails that model's create, not the apply."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class WeightsNotFound(LocalFileError):
    """A FROM/ADAPTER folder holds no weight files Ollama would take."""


class TargetExists(FileExistsError):
    """The target exists and overwrite was not asked for."""
