"""Sources and destinations of a mirror, one interface over registries and layouts.

A model keeps its canonical name everywhere: a registry source serves it under its own
host, a destination registry under `RegistryLocation.repository(name)` and the same
tag, a layout under its canonical name in index.json.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from provisioner.errors import NotFound
from provisioner.mirror.layout import Descriptor, Entry, Layout
from provisioner.mirror.locations import RegistryLocation
from provisioner.mirror.remote import FetchedManifest, Registry
from provisioner.names import ModelName
from provisioner.server.registry import registry_repository

OpenBlob = Callable[[], Iterable[bytes]]


class Source(Protocol):
    @property
    def where(self) -> str: ...

    def manifest(self, name: ModelName, insecure: bool) -> FetchedManifest: ...

    def blob(self, name: ModelName, insecure: bool, digest: str) -> Iterator[bytes]: ...


class Destination(Protocol):
    @property
    def where(self) -> str: ...

    def target(self, name: ModelName) -> str:
        """What the model is called at the destination, for messages and reports."""
        ...

    def has_manifest(self, name: ModelName, digest: str) -> bool:
        """Whether the destination already holds this very manifest under the name."""
        ...

    def has_blob(self, name: ModelName, digest: str, size: int) -> bool: ...

    def put_blob(
        self, name: ModelName, digest: str, size: int, open_blob: OpenBlob, mount_from: str | None
    ) -> bool:
        """Store a blob; True when it was mounted from `mount_from` instead of sent."""
        ...

    def holder(self, name: ModelName) -> str | None:
        """Where, at this destination, a blob stored for `name` can be mounted from."""
        ...

    def put_manifest(self, name: ModelName, manifest: FetchedManifest) -> None: ...


@dataclass
class RegistryPool:
    """One client per registry host (each keeps its own auth tokens)."""

    timeout: float = 30.0
    _clients: dict[tuple[str, bool], Registry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, host: str, insecure: bool) -> Registry:
        key = (host.lower(), insecure)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = Registry(key[0], insecure=insecure, timeout=self.timeout)
            return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@dataclass
class RegistrySource:
    """Each model from the registry its name says."""

    pool: RegistryPool
    where: str = "the models' registries"

    def manifest(self, name: ModelName, insecure: bool) -> FetchedManifest:
        client = self.pool.get(name.host, insecure)
        return client.manifest(registry_repository(name), name.tag)

    def blob(self, name: ModelName, insecure: bool, digest: str) -> Iterator[bytes]:
        client = self.pool.get(name.host, insecure)
        return client.blob(registry_repository(name), digest)


@dataclass
class LayoutSource:
    layout: Layout

    @property
    def where(self) -> str:
        return self.layout.where

    def manifest(self, name: ModelName, insecure: bool) -> FetchedManifest:
        entry = self.layout.find(name)
        if entry is None:
            raise NotFound(
                f"{self.where} holds no {name}: mirror it there first "
                f"(ollama-provision mirror FILE --to {self.where})",
                model=name.display,
            )
        raw = self.layout.read_blob(entry.manifest.digest, entry.manifest.size)
        return FetchedManifest(raw, entry.manifest.media_type, entry.manifest.digest)

    def blob(self, name: ModelName, insecure: bool, digest: str) -> Iterator[bytes]:
        return self.layout.open_blob(digest)


@dataclass
class RegistryDestination:
    location: RegistryLocation
    pool: RegistryPool

    @property
    def where(self) -> str:
        return str(self.location)

    @property
    def _client(self) -> Registry:
        return self.pool.get(self.location.host, self.location.insecure)

    def target(self, name: ModelName) -> str:
        return f"{self.location.host}/{self.location.repository(name)}:{name.tag}"

    def has_manifest(self, name: ModelName, digest: str) -> bool:
        repo = self.location.repository(name)
        return self._client.manifest_digest(repo, name.tag) == digest

    def has_blob(self, name: ModelName, digest: str, size: int) -> bool:
        return self._client.has_blob(self.location.repository(name), digest)

    def holder(self, name: ModelName) -> str | None:
        return self.location.repository(name)

    def put_blob(
        self, name: ModelName, digest: str, size: int, open_blob: OpenBlob, mount_from: str | None
    ) -> bool:
        repo = self.location.repository(name)
        mount = mount_from if mount_from != repo else None
        upload = self._client.start_upload(repo, digest, mount)
        if upload is None:
            return True
        self._client.finish_upload(upload, repo, digest, size, open_blob())
        return False

    def put_manifest(self, name: ModelName, manifest: FetchedManifest) -> None:
        self._client.put_manifest(self.location.repository(name), name.tag, manifest)


@dataclass
class LayoutDestination:
    layout: Layout

    @property
    def where(self) -> str:
        return self.layout.where

    def target(self, name: ModelName) -> str:
        return f"{self.where} {name}"

    def has_manifest(self, name: ModelName, digest: str) -> bool:
        entry = self.layout.find(name)
        return entry is not None and entry.manifest.digest == digest

    def has_blob(self, name: ModelName, digest: str, size: int) -> bool:
        return self.layout.has_blob(digest, size)

    def holder(self, name: ModelName) -> str | None:
        return None  # one blob store: a blob present for one model is present for all

    def put_blob(
        self, name: ModelName, digest: str, size: int, open_blob: OpenBlob, mount_from: str | None
    ) -> bool:
        self.layout.write_blob(digest, open_blob(), size)
        return False

    def put_manifest(self, name: ModelName, manifest: FetchedManifest) -> None:
        self.layout.write_bytes(manifest.digest, manifest.raw)
        descriptor = Descriptor(manifest.media_type, manifest.digest, len(manifest.raw))
        self.layout.record([Entry(name, descriptor)])
