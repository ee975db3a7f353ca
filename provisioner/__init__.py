"""ollama-provision: models-as-code for Ollama.

The public API is what this module exports; everything else is internal.
"""

from provisioner.api import apply, drift, load, plan
from provisioner.errors import (
    ConnectionFailed,
    LockError,
    ManifestError,
    ModelfileError,
    NotFound,
    ProvisionError,
    ServerError,
)

__all__ = [
    "ConnectionFailed",
    "LockError",
    "ManifestError",
    "ModelfileError",
    "NotFound",
    "ProvisionError",
    "ServerError",
    "apply",
    "drift",
    "load",
    "plan",
]
