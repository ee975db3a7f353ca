"""The client against real Ollama servers (both builds where the build can do it)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from provisioner.errors import (
    BadAnswer,
    BadRequest,
    ConnectionFailed,
    NotFound,
    ServerFailure,
    Timeout,
)
from provisioner.server.client import Client
from provisioner.server.retry import NO_RETRY
from provisioner.types.wire import Progress
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.ports import free_port
from tests.testbed.rewriteproxy import PAGE_MARKER, RewriteProxy
from tests.testbed.seed import gguf_for


def _pull(client: Client, registry: FilledRegistry, repo: str, tag: str = "latest") -> str:
    name = registry.name(repo, tag)
    client.pull(name, insecure=True)
    return name


def test_version_is_the_build_version(any_ollama: OllamaServer) -> None:
    with Client(any_ollama.url) as client:
        assert client.version() == any_ollama.version


def test_pull_streams_progress_and_lists_the_model(
    any_ollama: OllamaServer, registry: FilledRegistry
) -> None:
    events: list[Progress] = []
    name = registry.name("library/tiny")
    with Client(any_ollama.url) as client:
        assert client.tags() == []
        client.pull(name, insecure=True, on_progress=events.append)
        tags = client.tags()
    assert [t.name for t in tags] == [name]
    assert tags[0].digest == "sha256:" + any_ollama.tags()[name] and tags[0].size > 100_000
    statuses = [e.status for e in events]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    # Newer builds may finish a tiny blob before their first progress line.
    if any_ollama.version == "0.11.4":
        assert any(e.total and e.completed == e.total for e in events)


def test_show_copy_delete(any_ollama: OllamaServer, registry: FilledRegistry) -> None:
    with Client(any_ollama.url) as client:
        name = _pull(client, registry, "library/tiny-embed")
        shown = client.show(name)
        assert "embedding" in shown.capabilities
        assert shown.details.get("format") == "gguf"
        client.copy(name, "embed-alias")
        digests = {t.name: t.digest for t in client.tags()}
        assert digests["embed-alias:latest"] == digests[name]
        client.delete("embed-alias")
        assert [t.name for t in client.tags()] == [name]


def test_missing_model_errors_carry_the_name(any_ollama: OllamaServer) -> None:
    with Client(any_ollama.url, retry=NO_RETRY) as client:
        with pytest.raises(NotFound) as shown:
            client.show("nosuch")
        assert shown.value.model == "nosuch" and shown.value.status == 404
        assert "not found" in shown.value.message
        with pytest.raises(NotFound) as copied:
            client.copy("nosuch", "other")
        assert copied.value.model == "nosuch"
        with pytest.raises(NotFound) as deleted:
            client.delete("nosuch")
        assert "nosuch" in str(deleted.value)


def test_pull_of_a_name_the_registry_lacks(
    any_ollama: OllamaServer, registry: FilledRegistry
) -> None:
    name = registry.name("library/nosuch")
    with Client(any_ollama.url, retry=NO_RETRY) as client, pytest.raises(NotFound) as err:
        client.pull(name, insecure=True)
    assert err.value.model == name
    assert "file does not exist" in err.value.message


def test_pull_of_an_invalid_name_is_a_bad_request(any_ollama: OllamaServer) -> None:
    with Client(any_ollama.url, retry=NO_RETRY) as client, pytest.raises(BadRequest) as err:
        client.pull("a/b/c/d", insecure=True)
    assert err.value.status == 400


def test_blobs_head_then_upload(any_ollama: OllamaServer, tmp_path: Path) -> None:
    path = gguf_for("completion", 5, tmp_path)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    seen: list[Progress] = []
    with Client(any_ollama.url) as client:
        assert client.blob_exists(digest) is False
        client.upload_blob(digest, path, chunk_size=64 * 1024, on_progress=seen.append)
        assert client.blob_exists(digest) is True
    assert seen[-1].completed == path.stat().st_size
    assert len(seen) > 1  # streamed in chunks, not read whole


def test_create_from_an_uploaded_gguf_and_warm_it(ollama: OllamaServer, tmp_path: Path) -> None:
    path = gguf_for("completion", 6, tmp_path)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    with Client(ollama.url) as client:
        client.upload_blob(digest, path)
        events: list[Progress] = []
        client.create(
            {"model": "made", "files": {path.name: digest}, "system": "be brief"},
            on_progress=events.append,
        )
        assert events[-1].status == "success"
        assert client.show("made").system == "be brief"
        loaded = client.load("made", keep_alive="7m", embedding=False)
        assert loaded["done_reason"] == "load"
        running = client.ps()
        assert [r.name for r in running] == ["made:latest"]
        client.unload("made")


def test_create_from_an_existing_model(any_ollama: OllamaServer, registry: FilledRegistry) -> None:
    with Client(any_ollama.url) as client:
        base = _pull(client, registry, "library/tiny")
        client.create({"model": "derived", "from": base, "parameters": {"temperature": 0.2}})
        assert "temperature" in client.show("derived").parameters


def test_embedding_model_warms_through_embed(
    ollama: OllamaServer, registry: FilledRegistry
) -> None:
    with Client(ollama.url) as client:
        name = _pull(client, registry, "library/tiny-embed")
        answer = client.load(name, keep_alive=60, embedding=True)
        assert answer["embeddings"] == []
        assert [r.name for r in client.ps()] == [name]


def test_unreachable_server_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, retry=NO_RETRY) as client, pytest.raises(ConnectionFailed) as err:
        client.version()
    assert "cannot connect" in str(err.value) and url in str(err.value)


@pytest.mark.parametrize("path", ["/api/version", "/api/tags"])
def test_headers_dripped_a_byte_at_a_time_end_at_the_total_deadline(
    ollama: OllamaServer, path: str
) -> None:
    # Before the deadline covered the headers, GET /api/version ran 61 s with timeout=2.
    proxy = RewriteProxy(ollama.url).start()
    try:
        proxy.rewrite(path, "drip_head")
        started = time.monotonic()
        with Client(proxy.url, timeout=2, retry=NO_RETRY) as client, pytest.raises(Timeout) as e:
            client.version() if path == "/api/version" else client.tags()
        seconds = time.monotonic() - started
    finally:
        proxy.stop()
    assert seconds < 3.0
    assert e.value.message == f"GET {path} on {proxy.url} did not finish in 2s"
    assert proxy.rewritten[path] == 1


def test_a_stream_whose_headers_drip_is_a_stall(
    ollama: OllamaServer, registry: FilledRegistry
) -> None:
    proxy = RewriteProxy(ollama.url).start()
    try:
        proxy.rewrite("/api/pull", "drip_head")
        started = time.monotonic()
        with (
            Client(proxy.url, stall_timeout=2, retry=NO_RETRY) as client,
            pytest.raises(Timeout) as e,
        ):
            client.pull(registry.name("library/tiny"), insecure=True)
        seconds = time.monotonic() - started
    finally:
        proxy.stop()
    assert seconds < 3.5  # the stall timeout, and the proxy's real pull before its drip
    assert e.value.stalled == 2 and proxy.url in e.value.message


def test_an_endless_error_answer_to_a_stream_is_read_bounded(
    ollama: OllamaServer, registry: FilledRegistry
) -> None:
    proxy = RewriteProxy(ollama.url).start()
    try:
        proxy.rewrite("/api/pull", "endless500")
        started = time.monotonic()
        with (
            Client(proxy.url, stall_timeout=5, retry=NO_RETRY) as client,
            pytest.raises(ServerFailure) as e,
        ):
            client.pull(registry.name("library/tiny"), insecure=True)
        seconds = time.monotonic() - started
    finally:
        proxy.stop()
    # Its first megabyte was read, not the rest (before: read until memory ran out).
    assert seconds < 5
    assert e.value.status == 500 and proxy.url in str(e.value)
    assert PAGE_MARKER not in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("mode", ["error200", "html200"])
def test_copy_and_delete_answered_200_with_an_error_or_a_page_fail(
    ollama: OllamaServer, registry: FilledRegistry, mode: str
) -> None:
    name = registry.name("library/tiny")
    proxy = RewriteProxy(ollama.url).start()
    try:
        with Client(proxy.url, retry=NO_RETRY) as client:
            client.pull(name, insecure=True)
            proxy.rewrite("/api/copy", mode)
            proxy.rewrite("/api/delete", mode)
            with pytest.raises(BadAnswer, match=f"^{proxy.url}: POST /api/copy answered 200"):
                client.copy(name, "copied")
            with pytest.raises(BadAnswer, match=f"^{proxy.url}: DELETE /api/delete answered 200"):
                client.delete("copied")
    finally:
        proxy.stop()
