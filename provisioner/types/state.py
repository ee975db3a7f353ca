"""What observing a server finds: its models, the details a comparison needs, the
registry manifests read for pins and updates, and what the local files of custom
models are.

Defined here, apart from the HTTP client and the hash cache that fill them, so the
pure plan compares them without importing either (the layering contract in
pyproject.toml holds this).

A registry manifest hashes two ways: Ollama v0.32+ writes the registry's bytes
unchanged, v0.11.4 re-serializes them with Go's json.Marshal (see
server/registry.py); a local model matches a registry manifest when its
/api/tags digest equals either hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from provisioner.digests import full_digest
from provisioner.errors import InvalidName, ServerError
from provisioner.names import Key, ModelName, parse_name
from provisioner.types.manifest import ModelSpec
from provisioner.types.wire import RunningModel, ShowResult


@dataclass(frozen=True)
class RemoteManifest:
    """A model's manifest as its registry serves it."""

    name: ModelName
    digest: str  # "sha256:<hex>" of the registry's bytes
    reserialized_digest: str  # "sha256:<hex>" of what Ollama v0.11.4 writes
    layers: tuple[str, ...]
    size: int = 0  # bytes of the config and every layer: what a pull writes to disk
    blobs: tuple[tuple[str, int], ...] = ()  # (digest, bytes) of the config and each layer

    def matches(self, local_digest: str) -> bool:
        """Whether a /api/tags digest is this manifest. Client.tags gives "sha256:<hex>";
        Ollama's raw bare hex (scripts and tests pass it) is spelled so first."""
        return full_digest(local_digest) in (self.digest, self.reserialized_digest)


@dataclass(frozen=True)
class LocalWeights:
    """A FROM or ADAPTER path as a comparison sees it.

    files: {name sent to the server: "sha256:<hex>"}. chat_template: for a single
    GGUF file, whether it has `tokenizer.chat_template`; None for anything else.
    """

    path: str
    files: Mapping[str, str]
    chat_template: bool | None = None

    @property
    def single_gguf(self) -> bool:
        return self.chat_template is not None

    @property
    def source(self) -> str:
        """One digest for the whole path: the file's own when there is one file."""
        if len(self.files) == 1:
            return next(iter(self.files.values()))
        listing = "\n".join(f"{name} {digest}" for name, digest in sorted(self.files.items()))
        return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def build_key(source: str, layer: str, quantize: str | None = None) -> str:
    """The key of a remembered build: what went in, as which layer, quantized how."""
    return f"{source}|{layer}|{(quantize or '').upper()}"


@dataclass(frozen=True)
class LocalState:
    """What observe learned about local files: weights per path, and remembered builds."""

    weights: Mapping[str, LocalWeights] = field(default_factory=dict)
    builds: Mapping[str, str] = field(default_factory=dict)

    def built(self, source: str, layer: str, quantize: str | None = None) -> str | None:
        return self.builds.get(build_key(source, layer, quantize))


@dataclass(frozen=True)
class ServerModel:
    """A model the server holds."""

    name: ModelName
    digest: str  # "sha256:<hex>" of the manifest file Ollama wrote
    size: int
    modified_at: str


@dataclass(frozen=True)
class ServerState:
    version: str
    models: tuple[ServerModel, ...]
    shows: Mapping[Key, ShowResult] = field(default_factory=dict)
    running: tuple[RunningModel, ...] | None = None  # None: /api/ps was not asked
    remote: Mapping[Key, RemoteManifest | ServerError] = field(default_factory=dict)
    local: LocalState = field(default_factory=LocalState)  # custom models' local files

    @cached_property
    def _by_key(self) -> dict[Key, ServerModel]:
        return {model.name.key: model for model in self.models}

    @cached_property
    def _loaded(self) -> frozenset[Key | None]:
        return frozenset(_key_of(r.name) for r in self.running or ())

    def find(self, name: ModelName) -> ServerModel | None:
        """The model with exactly this name (case-insensitive, never by prefix)."""
        return self._by_key.get(name.key)

    def is_loaded(self, name: ModelName) -> bool:
        return name.key in self._loaded


def _key_of(text: str) -> Key | None:
    try:
        return parse_name(text).key
    except InvalidName:
        return None


def pin_matches(spec: ModelSpec, model: ServerModel | None) -> bool:
    """Whether the server holds the model at exactly its pinned digest."""
    return model is not None and spec.digest is not None and model.digest == spec.digest
