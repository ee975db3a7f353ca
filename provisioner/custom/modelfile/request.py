"""CreateSpec -> the JSON body of POST /api/create, as the Ollama CLI sends it."""

from __future__ import annotations

from typing import Any

from provisioner.custom.modelfile.parameters import typed
from provisioner.types.manifest import CreateSpec


def create_request(
    spec: CreateSpec,
    name: str,
    *,
    files: dict[str, str] | None = None,
    adapters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of POST /api/create, shaped as the Ollama CLI sends it.

    files / adapters: {file name: "sha256:<hex>"} of blobs already uploaded, needed
    when the spec has a local FROM / adapters. Empty template and system are left
    out (Go's omitempty), as are empty license, parameters and messages.
    """
    if spec.from_is_path != bool(files) or bool(spec.adapters) != bool(adapters):
        raise ValueError(
            "pass files for a local FROM (only then), adapters for ADAPTER (only then)"
        )
    body: dict[str, Any] = {"model": name, "stream": True}
    optional = {
        "quantize": spec.quantize,
        "from": None if spec.from_is_path else spec.from_,
        "files": dict(files or {}),
        "adapters": dict(adapters or {}),
        "template": spec.template,
        "license": list(spec.license),
        "system": spec.system,
        "parameters": {key: typed(key, v) for key, v in spec.parameters.items()},
        "messages": [{"role": role, "content": content} for role, content in spec.messages],
        "requires": spec.requires,
    }
    body.update((key, value) for key, value in optional.items() if value)
    return body
