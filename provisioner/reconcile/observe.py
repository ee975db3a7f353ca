"""Read a server's state: version, models, and only the details a comparison needs.

One GET /api/version and one GET /api/tags always; POST /api/show only for
present models whose comparison needs it (custom models and their bases,
warm-up capability), the hash cache for custom models' local files,
GET /api/ps only when something is to be warm, and the registry only for pins
that do not match outright and for update checks. Shows and registry reads run
concurrently, bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from provisioner.custom.hash_cache import HashCache
from provisioner.errors import InvalidName, ServerError, WeightsNotFound
from provisioner.manifest.mirrors import mirror_name, route
from provisioner.names import Key, parse_name
from provisioner.server.client import Client
from provisioner.server.registry import fetch_manifest
from provisioner.server.retry import RetryCallback
from provisioner.types.manifest import Manifest, ModelSpec
from provisioner.types.state import (
    LocalState,
    LocalWeights,
    RemoteManifest,
    ServerModel,
    ServerState,
    pin_matches,
)
from provisioner.types.wire import ShowResult

T = TypeVar("T")


def needs_show(spec: ModelSpec, model: ServerModel | None) -> bool:
    return model is not None and (spec.kind == "custom" or spec.warm)


def needs_remote(spec: ModelSpec, model: ServerModel | None, check_updates: bool) -> bool:
    if spec.kind != "registry":
        return False
    if spec.digest is not None:
        return not pin_matches(spec, model)
    return model is not None and (spec.pull == "always" or check_updates)


def _concurrently(jobs: Mapping[Key, Callable[[], T]], parallel: int) -> dict[Key, T | ServerError]:
    def guarded(job: Callable[[], T]) -> T | ServerError:
        try:
            return job()
        except ServerError as e:
            return e

    if not jobs:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {key: pool.submit(guarded, job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def _local_state(
    present: list[tuple[ModelSpec, ServerModel | None]], cache: HashCache | None
) -> LocalState:
    """Hash (or recall) the FROM/ADAPTER files of custom models already on the server."""
    custom = [s.create for s, model in present if s.create is not None and model is not None]
    if not custom:
        return LocalState()
    cache = cache or HashCache()
    paths = {p for c in custom for p in ([c.from_] if c.from_is_path else []) + list(c.adapters)}
    weights: dict[str, LocalWeights] = {}
    for path in sorted(paths):
        try:
            weights[path] = cache.inspect(Path(path))
        except (OSError, WeightsNotFound):
            continue  # gone or empty: not comparable; a create would say why
    return LocalState(weights, cache.builds)


def list_models(client: Client) -> tuple[ServerModel, ...]:
    models = []
    for entry in client.tags():
        try:
            name = parse_name(entry.name)
        except InvalidName:
            continue  # cannot be declared, so cannot be compared; never pruned either
        models.append(ServerModel(name, entry.digest, entry.size, entry.modified_at))
    return tuple(models)


def observe_server(
    client: Client,
    manifest: Manifest | None = None,
    *,
    check_updates: bool = False,
    parallel: int = 4,
    hash_cache: HashCache | None = None,
    on_retry: RetryCallback | None = None,
) -> ServerState:
    version = client.version()
    models = list_models(client)
    state = ServerState(version=version, models=models)
    if manifest is None:
        return state
    present = [(spec, state.find(spec.name)) for spec in manifest.models if spec.kind != "absent"]

    def show_job(name: str) -> Callable[[], ShowResult]:
        return lambda: client.show(name)

    def remote_job(spec: ModelSpec, model: ServerModel | None) -> Callable[[], RemoteManifest]:
        # The server's own spelling when it holds the model: Ollama pulls by that name.
        name = model.name if model is not None else spec.name
        mirror = route(name, manifest.mirrors)
        if mirror is not None:  # the mirror's copy is what a pull would bring
            copy = mirror_name(name, mirror)
            return lambda: fetch_manifest(copy, insecure=mirror.insecure, on_retry=on_retry)
        return lambda: fetch_manifest(name, insecure=spec.insecure, on_retry=on_retry)

    show_jobs = {
        spec.name.key: show_job(spec.name.display)
        for spec, model in present
        if needs_show(spec, model)
    }
    for spec, model in present:  # a custom model inherits from its base: compare with it
        base_name = spec.base if model is not None else None
        base = state.find(base_name) if base_name is not None else None
        if base is not None:
            show_jobs.setdefault(base.name.key, show_job(base.name.display))
    remote_jobs = {
        spec.name.key: remote_job(spec, model)
        for spec, model in present
        if needs_remote(spec, model, check_updates)
    }
    shows: dict[Key, ShowResult] = {}
    for key, result in _concurrently(show_jobs, parallel).items():
        if isinstance(result, ServerError):
            raise result  # without it the comparison would guess
        shows[key] = result
    remote = _concurrently(remote_jobs, parallel)
    running = tuple(client.ps()) if any(spec.warm for spec, _ in present) else None
    local = _local_state(present, hash_cache)
    return ServerState(version, models, shows, running, remote, local)
