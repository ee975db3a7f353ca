"""What Ollama's JSON answers hold, read into the wire types (types/wire.py).

A missing field or a value of the wrong type is one BadAnswer line naming the
endpoint (`Shape`), never a KeyError deep in the caller: a proxy or another
program on the port must not pass for an Ollama server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.digests import full_digest
from provisioner.errors import BadAnswer
from provisioner.types.wire import Progress, RunningModel, ShowResult, TagEntry


class Shape:
    """Turns a missing field or a wrong type in an answer into one BadAnswer line."""

    def __init__(self, host: str, method: str, path: str) -> None:
        self.host, self.method, self.path = host, method, path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if kind is not None and issubclass(kind, (KeyError, TypeError, ValueError, AttributeError)):
            raise BadAnswer(
                f"{self.host}: {self.method} {self.path} answered JSON of an unexpected shape "
                f"({exc}); is this an Ollama server?",
                host=self.host,
            ) from exc


def _items(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"'{key}' is not a list of objects")
    return value


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise TypeError(f"'{key}' is not a list")
    return value


def _text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = body[key] if required else body.get(key, "")
    if not isinstance(value, str):
        raise TypeError(f"'{key}' is not text")
    return value


def _count(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{key}' is not a whole number")
    return value


def _object(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise TypeError(f"'{key}' is not an object")
    return value


def _license(value: Any) -> str:
    """Ollama sends one license as text, several as a list of texts."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def progress(line: Mapping[str, Any], model: str, where: str) -> Progress:
    """One stream line as a typed event; a field of the wrong type is a broken answer."""
    status, digest = line.get("status", ""), line.get("digest")
    total, completed = line.get("total"), line.get("completed")
    numbers_ok = all(
        n is None or (isinstance(n, int) and not isinstance(n, bool)) for n in (total, completed)
    )
    if not isinstance(status, str) or not isinstance(digest, (str, type(None))) or not numbers_ok:
        raise BadAnswer(f"{where} sent a progress line of an unexpected shape", model=model)
    return Progress(model, status, digest, total, completed)


def version(body: Mapping[str, Any]) -> str:
    value = body["version"]
    if not isinstance(value, str):
        raise TypeError("version")
    return value


def tags(body: Mapping[str, Any]) -> list[TagEntry]:
    return [
        TagEntry(
            name=_text(m, "name", required=True),
            digest=full_digest(_text(m, "digest")),
            size=_count(m, "size"),
            modified_at=_text(m, "modified_at"),
            details=_object(m, "details"),
        )
        for m in _items(body, "models")
    ]


def running(body: Mapping[str, Any]) -> list[RunningModel]:
    return [
        RunningModel(
            name=_text(m, "name", required=True),
            digest=_text(m, "digest"),
            size=_count(m, "size"),
            size_vram=_count(m, "size_vram"),
            expires_at=_text(m, "expires_at"),
        )
        for m in _items(body, "models")
    ]


def show(data: Mapping[str, Any]) -> ShowResult:
    return ShowResult(
        system=_text(data, "system"),
        template=_text(data, "template"),
        parameters=_text(data, "parameters"),
        license=_license(data.get("license")),
        modelfile=_text(data, "modelfile"),
        capabilities=tuple(str(c) for c in _list(data, "capabilities")),
        details=_object(data, "details"),
        messages=tuple(m for m in _list(data, "messages") if isinstance(m, dict)),
        raw=data,
    )
