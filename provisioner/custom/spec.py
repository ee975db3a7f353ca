"""The structured create request a custom model is built from.

Both a Modelfile (parsed by modelfile.py) and the manifest's structured form
(`from`, `system`, ...) become a CreateSpec; the plan compares it with the
server's /api/show and the apply sends it as POST /api/create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CreateSpec:
    """A custom model's definition.

    from_: a model reference (e.g. "llama3.2") or an absolute local path to a
    GGUF file or safetensors folder. adapters: absolute local paths.
    parameters keep Ollama's JSON types: int, float, bool, str, and a list of
    str for "stop".
    """

    from_: str
    from_is_path: bool = False
    system: str | None = None
    template: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    adapters: tuple[str, ...] = ()
    license: tuple[str, ...] = ()
    quantize: str | None = None
    requires: str | None = None  # semver without a leading "v"
