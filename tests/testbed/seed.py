"""Fill a registry with tiny real models, built and pushed by the real Ollama CLI.

A seed server creates each model from a generated GGUF with `ollama create`,
copies it to a registry name and pushes it with `ollama push --insecure`.
`push_model` is also how a test moves a tag upstream: push a model built from
another seed under a tag that already exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.testbed.ollama_server import OllamaServer
from tests.testbed.tiny_models import (
    write_completion_model,
    write_embedding_model,
    write_large_model,
)


@dataclass(frozen=True)
class SeedModel:
    repository: str  # namespace/model in the registry
    tag: str
    kind: str  # "completion" or "embedding"
    seed: int


# What every session's registry holds: two names, several tags, two namespaces.
CATALOG = (
    SeedModel("library/tiny", "latest", "completion", 0),
    SeedModel("library/tiny", "v2", "completion", 1),
    SeedModel("library/tiny-embed", "latest", "embedding", 0),
    SeedModel("team/tiny", "v1", "completion", 2),
)


LARGE_BYTES = 200_000_000  # big enough that a throttled pull can be interrupted


def gguf_for(kind: str, seed: int, folder: Path) -> Path:
    """Write (deterministically) the GGUF for a kind and seed; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{seed}.gguf"
    if not path.exists():
        if kind == "large":
            write_large_model(path, LARGE_BYTES, seed=seed)
        elif kind == "embedding":
            write_embedding_model(path, seed=seed)
        else:
            write_completion_model(path, seed=seed)
    return path


def create_local(server: OllamaServer, name: str, kind: str, seed: int) -> None:
    """`ollama create NAME` from a generated GGUF on the given server."""
    folder = server.workdir / "gguf"
    gguf = gguf_for(kind, seed, folder)
    modelfile = folder / f"{kind}-{seed}.Modelfile"
    modelfile.write_text(f"FROM ./{gguf.name}\n")
    server.cli("create", name, "-f", str(modelfile), cwd=folder)


def push_model(server: OllamaServer, registry_host: str, model: SeedModel) -> str:
    """Create the model on the seed server and push it; returns the registry name."""
    remote = f"{registry_host}/{model.repository}:{model.tag}"
    local = f"seed-{model.kind}-{model.seed}"
    create_local(server, local, model.kind, model.seed)
    server.cli("cp", local, remote)
    server.cli("push", "--insecure", remote)
    return remote


def fill_registry(server: OllamaServer, registry_host: str) -> list[str]:
    return [push_model(server, registry_host, m) for m in CATALOG]
