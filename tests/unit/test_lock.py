"""Reading the lock (`<stem>.lock.json`) without a server: a lock that is not one is one
LockError line naming the file (exit 2 from the CLI), never an internal error, never read
forever (a FIFO, /dev/zero) and never read whole when it is huge."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from provisioner.errors import LockError
from provisioner.manifest.load import load_manifest
from provisioner.manifest.lock import MAX_LOCK_BYTES, read_lock
from provisioner.types.manifest import Manifest
from tests.integration.cli_runner import run_cli

DIGEST = "sha256:" + "a" * 64
RERUN = "rerun `ollama-provision lock`"


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n  - name: tiny\n")
    return load_manifest(path)


def lock_of(manifest: Manifest) -> Path:
    return manifest.path.with_name("models.lock.json")


def good(**changes: object) -> bytes:
    body: dict[str, object] = {
        "lock_version": 1,
        "manifest": "models.yaml",
        "registry": {"tiny:latest": DIGEST},
        "custom": {},
    }
    body.update(changes)
    return json.dumps(body).encode()


def test_no_lock_and_a_good_lock(manifest: Manifest) -> None:
    assert read_lock(manifest) is None
    lock_of(manifest).write_bytes(good())
    lock = read_lock(manifest)
    assert lock is not None and lock.registry == {"tiny:latest": DIGEST} and lock.custom == {}


CORRUPT = {
    "a list": (b"[1, 2, 3]", "the top level is a list, not an object"),
    "null": (b"null", "the top level is null, not an object"),
    "not JSON": (b"{", "not JSON: Expecting property name enclosed in double quotes"),
    "empty": (b"", "not JSON: Expecting value"),
    "not UTF-8": (b'{"lock_version": 1, "registry": {"\xff": 1}}', "not UTF-8 text"),
    "no version": (b'{"registry": {}, "custom": {}}', "no lock_version 1"),
    "version as text": (good(lock_version="1"), "no lock_version 1"),
    "registry a list": (good(registry=[1]), "'registry' is a list, not an object"),
    "custom missing": (json.dumps({"lock_version": 1, "registry": {}}).encode(), "no 'custom'"),
    "a digest number": (good(custom={"bot": 5}), "'custom' maps \"bot\" to a number, not a digest"),
    "a digest object": (
        good(registry={"tiny": {"d": 1}}),
        "'registry' maps \"tiny\" to an object, not a digest",
    ),
    "nested too deeply": (b"[" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize(("body", "why"), CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_lock_is_one_error_naming_the_file(
    manifest: Manifest, body: bytes, why: str
) -> None:
    path = lock_of(manifest)
    path.write_bytes(body)
    with pytest.raises(LockError) as caught:
        read_lock(manifest)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a lock file ({why}")
    assert message.endswith(f"); {RERUN}") and "\n" not in message


def test_an_unsupported_version_says_so(manifest: Manifest) -> None:
    lock_of(manifest).write_bytes(good(lock_version=7))
    with pytest.raises(LockError) as caught:
        read_lock(manifest)
    assert str(caught.value) == (
        f"{lock_of(manifest)}: lock_version 7 is not supported (this tool writes 1); {RERUN}"
    )


def make_special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("fifo", "a FIFO (named pipe), not a regular file"),
        ("device", "a character device, not a regular file"),
        ("folder", "a folder, not a regular file"),
    ],
)
def test_a_lock_that_is_not_a_regular_file_is_refused_at_once(
    manifest: Manifest, kind: str, what: str
) -> None:
    path = lock_of(manifest)
    make_special(path, kind)
    started = time.monotonic()
    with pytest.raises(LockError) as caught:
        read_lock(manifest)
    assert time.monotonic() - started < 5
    assert str(caught.value) == f"{path}: {what}; remove it and {RERUN}"


def test_a_huge_lock_is_refused_without_reading_it_whole(manifest: Manifest) -> None:
    path = lock_of(manifest)
    with path.open("wb") as f:
        f.truncate(4 << 30)  # 4 GiB, sparse: reading it whole would take all the memory
    started = time.monotonic()
    with pytest.raises(LockError) as caught:
        read_lock(manifest)
    assert time.monotonic() - started < 5
    assert (
        str(caught.value) == f"{path}: larger than 16 MiB, not a lock file; remove it and {RERUN}"
    )
    path.write_bytes(good(custom={f"m{i}": DIGEST for i in range(1000)}))
    assert path.stat().st_size < MAX_LOCK_BYTES and read_lock(manifest) is not None


def test_the_cli_prints_one_line_and_exits_2(manifest: Manifest) -> None:
    lock_of(manifest).write_bytes(b"[1, 2, 3]")
    # The lock is read before connecting: nothing listens on port 9, and it is never asked.
    result = run_cli("--host", "http://127.0.0.1:9", "plan", str(manifest.path))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {lock_of(manifest)}: not a lock file "
        f"(the top level is a list, not an object); {RERUN}"
    ]
    json_result = run_cli("--host", "http://127.0.0.1:9", "-o", "json", "plan", str(manifest.path))
    document = json.loads(json_result.out)
    assert json_result.code == 2 and document["kind"] == "error"
    assert document["error"].startswith(f"{lock_of(manifest)}: not a lock file")


def test_lock_replaces_a_corrupt_lock(manifest: Manifest) -> None:
    manifest.path.write_text("version: 1\nmodels:\n  - name: bot\n    from: ./w.gguf\n")
    (manifest.path.parent / "w.gguf").write_bytes(b"weights")
    lock_of(manifest).write_bytes(b"[1, 2, 3]")
    result = run_cli("lock", str(manifest.path))
    assert result.code == 0, result.err
    assert set(json.loads(lock_of(manifest).read_text())["custom"]) == {"bot:latest"}
