"""Typed values for pure tests: a declared model and a /api/show answer."""

from __future__ import annotations

from typing import Any

from provisioner.errors import Position
from provisioner.names import parse_name
from provisioner.types.manifest import ModelSpec
from provisioner.types.wire import ShowResult

HERE = Position("models.yaml", 1, 1)


def spec(name: str, kind: str = "registry", **kw: Any) -> ModelSpec:
    """A declared model; a custom model's base is set from its FROM, as the loader does."""
    create = kw.get("create")
    if create is not None and not create.from_is_path:
        kw.setdefault("base", parse_name(create.from_))
    return ModelSpec(name=parse_name(name), kind=kind, position=HERE, **kw)  # type: ignore[arg-type]


def show(**kw: Any) -> ShowResult:
    """An /api/show answer: empty texts, a completion model, unless told otherwise."""
    fields: dict[str, Any] = dict(
        system="",
        template="",
        parameters="",
        license="",
        modelfile="",
        capabilities=("completion",),
        details={},
        messages=(),
        raw={},
    )
    fields.update(kw)
    return ShowResult(**fields)
