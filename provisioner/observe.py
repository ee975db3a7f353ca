"""Read a server's state: its version and its models (GET /api/version, GET /api/tags)."""

from __future__ import annotations

from dataclasses import dataclass

from .client import Client
from .names import InvalidName, ModelName, parse_name


@dataclass(frozen=True)
class ServerModel:
    """A model the server holds."""

    name: ModelName
    digest: str  # hex hash of the manifest file (no "sha256:" prefix)
    size: int
    modified_at: str


@dataclass(frozen=True)
class ServerState:
    version: str
    models: tuple[ServerModel, ...]

    def find(self, name: ModelName) -> ServerModel | None:
        """The model with exactly this name (case-insensitive, never by prefix)."""
        for model in self.models:
            if model.name.key == name.key:
                return model
        return None


def observe_server(client: Client) -> ServerState:
    version = client.version()
    models = []
    for entry in client.tags():
        try:
            name = parse_name(entry.name)
        except InvalidName:
            continue  # cannot be declared, so cannot be compared; never pruned either
        models.append(ServerModel(name, entry.digest, entry.size, entry.modified_at))
    return ServerState(version=version, models=tuple(models))
