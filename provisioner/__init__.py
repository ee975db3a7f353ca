"""ollama-provision: models-as-code for Ollama.

The public API is what this module exports; everything else is internal.
Names are imported on first use, so `import provisioner` (and the CLI's
start-up) pays only for what is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from provisioner.api import apply, drift, load, loads, plan
    from provisioner.errors import (
        ConnectionFailed,
        LockError,
        ManifestError,
        ModelfileError,
        NotFound,
        ProvisionError,
        Refused,
        ServerError,
    )

_WHERE = {
    "apply": "provisioner.api",
    "drift": "provisioner.api",
    "load": "provisioner.api",
    "loads": "provisioner.api",
    "plan": "provisioner.api",
    "ConnectionFailed": "provisioner.errors",
    "LockError": "provisioner.errors",
    "ManifestError": "provisioner.errors",
    "ModelfileError": "provisioner.errors",
    "NotFound": "provisioner.errors",
    "ProvisionError": "provisioner.errors",
    "Refused": "provisioner.errors",
    "ServerError": "provisioner.errors",
}

__all__ = [
    "ConnectionFailed",
    "LockError",
    "ManifestError",
    "ModelfileError",
    "NotFound",
    "ProvisionError",
    "Refused",
    "ServerError",
    "apply",
    "drift",
    "load",
    "loads",
    "plan",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'provisioner' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
