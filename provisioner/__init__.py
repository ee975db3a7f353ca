"""ollama-provision: models-as-code for Ollama."""

from .errors import (
    ConnectionFailed,
    ManifestError,
    ModelfileError,
    NotFound,
    ProvisionError,
    ServerError,
)

__all__ = [
    "ConnectionFailed",
    "ManifestError",
    "ModelfileError",
    "NotFound",
    "ProvisionError",
    "ServerError",
]
