"""pytest fixtures over the real test bed (loaded as a plugin by tests/conftest.py).

- `registry`: one per session, already filled from the CATALOG.
- `ollama`: a fresh pinned (v0.11.4, inference-capable) server per test.
- `any_ollama`: a fresh server per test, once for each build in VERSIONS; for
  model-management tests that must hold on a current server too.
A failing test gets the tail of each server's log attached to its report.
Nothing here skips: a server that cannot be built or started is an error.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pluggy
import pytest

from tests.testbed.build import NEWEST, PINNED, VERSIONS
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import CATALOG, SeedModel, fill_registry, push_model


@dataclass
class FilledRegistry:
    registry: Registry
    seed_server: OllamaServer

    @property
    def host(self) -> str:
        return self.registry.host

    def name(self, repository: str, tag: str = "latest") -> str:
        """The full model name a server pulls this registry model by."""
        return f"{self.host}/{repository}:{tag}"

    def push(self, repository: str, tag: str, *, kind: str = "completion", seed: int) -> str:
        """Push a model built from `seed` under repository:tag (moves an existing tag)."""
        return push_model(self.seed_server, self.host, SeedModel(repository, tag, kind, seed))


@pytest.fixture(scope="session")
def large_model(registry: FilledRegistry) -> str:
    """A 200 MB model in the registry (pushed once per session, only when asked for)."""
    return registry.push("library/big", "latest", kind="large", seed=0)


def _attach(request: pytest.FixtureRequest, server: OllamaServer) -> None:
    servers = getattr(request.node, "_ollama_servers", [])
    servers.append(server)
    request.node._ollama_servers = servers


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledRegistry]:
    root = tmp_path_factory.mktemp("registry")
    reg = start_registry(root / "registry")
    seed = start_server(PINNED, root / "seed-server")
    try:
        fill_registry(seed, reg.host)
        yield FilledRegistry(reg, seed)
    finally:
        seed.stop()
        reg.stop()


def _fresh(request: pytest.FixtureRequest, tmp_path: Path, version: str) -> Iterator[OllamaServer]:
    server = start_server(version, tmp_path / f"ollama-{version}")
    _attach(request, server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ollama(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OllamaServer]:
    yield from _fresh(request, tmp_path, PINNED)


@pytest.fixture
def newest_ollama(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OllamaServer]:
    """A fresh server of the newest build, for what only it does differently."""
    yield from _fresh(request, tmp_path, NEWEST)


@pytest.fixture(params=VERSIONS, ids=[f"ollama-{v}" for v in VERSIONS])
def any_ollama(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OllamaServer]:
    yield from _fresh(request, tmp_path, request.param)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in getattr(item, "_ollama_servers", []):
            report.sections.append(
                (f"ollama {server.version} log ({server.url})", server.log_tail())
            )


__all__ = ["CATALOG", "FilledRegistry"]
