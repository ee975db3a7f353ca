"""Local weights without a server: the hash cache, constant-memory hashing, which files a
folder stands for, the GGUF chat-template probe, and reading weight digests from /api/show."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from provisioner.custom.files import read_regular, weight_files
from provisioner.custom.gguf import gguf_chat_template
from provisioner.custom.hash_cache import CHUNK, HashCache, sha256_file
from provisioner.custom.weights import LocalWeights, build_key, show_weights
from provisioner.errors import WeightsNotFound
from provisioner.types.wire import ShowResult
from tests.testbed.tiny_models import write_completion_model, write_lora_adapter

BLOBS = "/srv/models/blobs"
MODEL = "9a2a38140b4780a2166e0aaaa377f4de3611446ddc221e22b5dedb01deef8add"
ADAPTER = "0bde8967cad1c0289000d2b48be33d704bccab5b0ff0a5cacfc65fa85ba222ed"


def show(modelfile: str) -> ShowResult:
    return ShowResult("", "", "", "", modelfile, (), {}, (), {})


def hexdigest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- the hash cache -------------------------------------------------------------------------


def test_an_unchanged_file_is_hashed_once_across_runs(tmp_path: Path) -> None:
    file, store = tmp_path / "w.gguf", tmp_path / "cache" / "hashes.json"
    file.write_bytes(b"weights" * 1000)
    first = HashCache(store)
    assert first.digest(file) == hexdigest(file.read_bytes())
    assert (first.hits, first.misses) == (0, 1)
    second = HashCache(store)  # another run reads the same cache file
    assert second.digest(file) == hexdigest(file.read_bytes())
    assert (second.hits, second.misses) == (1, 0)


def test_size_or_mtime_change_means_hash_again(tmp_path: Path) -> None:
    file = tmp_path / "w.gguf"
    file.write_bytes(b"a" * 100)
    cache = HashCache(tmp_path / "hashes.json")
    cache.digest(file)
    file.write_bytes(b"b" * 100)  # same size, new mtime
    os.utime(file, ns=(1, 1_000_000_123))
    assert cache.digest(file) == hexdigest(b"b" * 100)
    file.write_bytes(b"b" * 101)
    os.utime(file, ns=(1, 1_000_000_123))  # same mtime, new size
    assert cache.digest(file) == hexdigest(b"b" * 101)
    assert (cache.hits, cache.misses) == (0, 3)


def test_the_key_is_the_real_path(tmp_path: Path) -> None:
    file = tmp_path / "w.gguf"
    file.write_bytes(b"x")
    (tmp_path / "link.gguf").symlink_to(file)
    cache = HashCache(tmp_path / "hashes.json")
    cache.digest(file)
    cache.digest(tmp_path / "link.gguf")
    assert (cache.hits, cache.misses) == (1, 1)


def test_unreadable_or_old_cache_files(tmp_path: Path) -> None:
    file, store = tmp_path / "w.gguf", tmp_path / "hashes.json"
    file.write_bytes(b"x")
    store.write_text("{not json")
    assert HashCache(store).digest(file) == hexdigest(b"x")  # garbage: start empty
    real = file.resolve()
    st = real.stat()
    store.write_text(json.dumps({f"{real}|{st.st_size}|{st.st_mtime_ns}": "sha256:" + "0" * 64}))
    old = HashCache(store)  # version 1 layout: {key: digest}
    assert old.digest(file) == "sha256:" + "0" * 64 and old.hits == 1


def test_saves_are_atomic_and_keep_builds(tmp_path: Path) -> None:
    store = tmp_path / "c" / "hashes.json"
    cache = HashCache(store)
    cache.remember_build("sha256:" + "a" * 64, "model", "q8_0", "sha256:" + "b" * 64)
    # no temporary file left behind; the lock file concurrent saves take stays
    assert sorted(os.listdir(store.parent)) == ["hashes.json", "hashes.json.lock"]
    again = HashCache(store)
    assert again.builds == {build_key("sha256:" + "a" * 64, "model", "Q8_0"): "sha256:" + "b" * 64}


CORRUPT_CACHES = {
    "not JSON": b"{not json",
    "a list": b"[1, 2, 3]",
    "null": b"null",
    "files is a list": b'{"version": 2, "files": [1], "builds": {}}',
    "builds is a string": b'{"version": 2, "files": {}, "builds": "x"}',
    "a newer version": b'{"version": 99, "files": {}}',
    "not UTF-8": b"\xff\xfe\x00garbage",
    "nested too deeply": b"[" * 100_000,
}


@pytest.mark.parametrize("body", CORRUPT_CACHES.values(), ids=CORRUPT_CACHES.keys())
def test_a_corrupt_cache_is_ignored_with_a_note_and_rebuilt(
    tmp_path: Path, body: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    file, store = tmp_path / "w.gguf", tmp_path / "hashes.json"
    file.write_bytes(b"x")
    store.write_bytes(body)
    cache = HashCache(store)
    assert cache.digest(file) == hexdigest(b"x")
    note = f"the hash cache {store} was unreadable; rebuilding it"
    assert cache.notes == [note]
    assert capsys.readouterr().err == f"note: {note}\n"  # the CLI's way out: one line
    rebuilt = json.loads(store.read_text())  # rewritten as a good cache by the first save
    assert rebuilt["version"] == 2 and len(rebuilt["files"]) == 1
    again = HashCache(store)
    assert again.digest(file) == hexdigest(b"x") and again.hits == 1 and again.notes == []


def test_entries_of_the_wrong_shape_are_dropped_silently(tmp_path: Path) -> None:
    file, store = tmp_path / "w.gguf", tmp_path / "hashes.json"
    file.write_bytes(b"x")
    real = file.resolve()
    st = real.stat()
    key = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    good = {"sha256": "sha256:" + "1" * 64, "chat_template": None}
    store.write_text(
        json.dumps({"version": 2, "files": {key: good, "k2": 5, "k3": {}}, "builds": {"b": 1}})
    )
    cache = HashCache(store)
    assert cache.digest(file) == "sha256:" + "1" * 64 and cache.hits == 1
    assert cache.builds == {} and cache.notes == []


def test_a_cache_that_is_a_fifo_or_a_device_is_not_read_forever(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo" / "hashes.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    device = tmp_path / "dev" / "hashes.json"
    device.parent.mkdir()
    device.symlink_to("/dev/zero")
    notes: list[str] = []
    for store in (fifo, device):
        started = time.monotonic()
        cache = HashCache(store, on_note=notes.append)  # the caller's own way out
        assert time.monotonic() - started < 5
        assert cache.notes == [f"the hash cache {store} was unreadable; rebuilding it"]
    assert len(notes) == 2


def test_an_unwritable_cache_folder_means_no_cache_and_one_note(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    store = tmp_path / "a-file" / "cache" / "hashes.json"  # cannot exist: works as root too
    one, two = tmp_path / "one.gguf", tmp_path / "two.gguf"
    one.write_bytes(b"1")
    two.write_bytes(b"2")
    notes: list[str] = []
    cache = HashCache(store, on_note=notes.append)
    assert cache.notes == []  # no cache yet is not worth a note
    assert cache.digest(one) == hexdigest(b"1")
    assert cache.digest(two) == hexdigest(b"2")
    cache.remember_build("sha256:" + "a" * 64, "model", None, "sha256:" + "b" * 64)
    assert cache.digest(one) == hexdigest(b"1") and cache.hits == 1  # kept for this run
    assert notes == [
        f"cannot write the hash cache {store} (Not a directory); going on without it "
        "(local files will be hashed again next run)"
    ]
    assert cache.notes == notes


def test_a_read_only_cache_folder_means_no_cache(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    file = tmp_path / "w.gguf"
    file.write_bytes(b"x")
    if os.geteuid() == 0:  # root ignores permissions: make the folder path unusable instead
        folder.rmdir()
        folder.write_text("")
    else:
        folder.chmod(0o500)
    notes: list[str] = []
    cache = HashCache(folder / "hashes.json", on_note=notes.append)
    try:
        assert cache.digest(file) == hexdigest(b"x")
    finally:
        if folder.is_dir():
            folder.chmod(0o700)
    assert len(notes) == 1 and notes[0].startswith(f"cannot write the hash cache {folder}/")


def _add_entries(store: str, worker: int, count: int, start: Any) -> None:
    """One concurrent run: hash its own files and remember its own builds."""
    folder = Path(store).parent.parent / f"files-{worker}"
    folder.mkdir()
    cache = HashCache(Path(store))
    start.wait()  # every process loaded the same (empty) cache before anyone saves
    for i in range(count):
        file = folder / f"{i}.bin"
        file.write_bytes(f"{worker}-{i}".encode())
        cache.digest(file)
        cache.remember_build(f"sha256:{worker:032x}{i:032x}", "model", None, "sha256:" + "c" * 64)


def test_concurrent_runs_lose_no_entries(tmp_path: Path) -> None:
    workers, count = 10, 5
    store = tmp_path / "cache" / "hashes.json"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers)
    processes = [
        context.Process(target=_add_entries, args=(str(store), w, count, start))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    saved = json.loads(store.read_text())
    assert len(saved["files"]) == workers * count  # the old last-writer-wins save kept 5
    assert len(saved["builds"]) == workers * count
    cache = HashCache(store)
    for w in range(workers):
        for i in range(count):
            cache.digest(tmp_path / f"files-{w}" / f"{i}.bin")
    assert (cache.hits, cache.misses) == (workers * count, 0)


def test_what_this_run_learned_wins_over_what_another_saved(tmp_path: Path) -> None:
    store = tmp_path / "hashes.json"
    key = ("sha256:" + "a" * 64, "model", None)
    first, second = HashCache(store), HashCache(store)
    first.remember_build(*key, "sha256:" + "1" * 64)
    second.remember_build("sha256:" + "e" * 64, "model", None, "sha256:" + "2" * 64)
    assert HashCache(store).builds[build_key(*key)] == "sha256:" + "1" * 64  # kept
    second.remember_build(*key, "sha256:" + "3" * 64)  # newer: replaces
    assert HashCache(store).builds[build_key(*key)] == "sha256:" + "3" * 64
    first.remember_build("sha256:" + "f" * 64, "model", None, "sha256:" + "4" * 64)
    assert HashCache(store).builds[build_key(*key)] == "sha256:" + "3" * 64  # not stale 1


def test_inspect_reports_files_and_the_chat_template_probe(tmp_path: Path) -> None:
    write_completion_model(tmp_path / "tiny.gguf")
    cache = HashCache(tmp_path / "hashes.json")
    found = cache.inspect(tmp_path / "tiny.gguf")
    assert found.files == {"tiny.gguf": sha256_file(tmp_path / "tiny.gguf")}
    assert found.chat_template is False and found.single_gguf
    assert found.source == found.files["tiny.gguf"]
    assert HashCache(tmp_path / "hashes.json").inspect(tmp_path / "tiny.gguf") == found


# ---- hashing in constant memory ---------------------------------------------------------------


def _peak_while_hashing(path: Path) -> int:
    tracemalloc.start()
    try:
        sha256_file(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_hashing_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    for path, size in ((small, 8 << 20), (big, 128 << 20)):
        with path.open("wb") as f:
            f.truncate(size)  # sparse: cheap to make, read like any file
    assert sha256_file(big) == hexdigest(bytes(128 << 20))
    small_peak, big_peak = _peak_while_hashing(small), _peak_while_hashing(big)
    assert big_peak < CHUNK + (1 << 20)  # one reused buffer
    assert abs(big_peak - small_peak) < 64 << 10


def test_progress_is_reported_while_hashing(tmp_path: Path) -> None:
    file = tmp_path / "w"
    file.write_bytes(bytes(CHUNK * 2 + 5))
    seen: list[int] = []
    sha256_file(file, lambda p: seen.append(p.completed or 0))
    assert seen == [CHUNK, CHUNK * 2, CHUNK * 2 + 5]


# ---- which files a FROM/ADAPTER path stands for -------------------------------------------------


def test_a_fifo_or_a_device_is_refused_not_hashed_forever(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.gguf"
    os.mkfifo(fifo)
    cache = HashCache(tmp_path / "hashes.json")
    for path, kind in ((fifo, "a FIFO (named pipe)"), (Path("/dev/zero"), "a character device")):
        started = time.monotonic()
        with pytest.raises(OSError) as caught:
            cache.digest(path)
        assert time.monotonic() - started < 5
        assert caught.value.strerror == f"{kind}, not a regular file"
        assert caught.value.filename == str(path)
    assert not (tmp_path / "hashes.json").exists()  # nothing was remembered


def test_read_regular_has_a_size_limit(tmp_path: Path) -> None:
    file = tmp_path / "big"
    with file.open("wb") as f:
        f.truncate((1 << 20) + 1)  # sparse: no disk used
    with pytest.raises(OSError) as caught:
        read_regular(file, 1 << 20)
    assert caught.value.strerror == "larger than 1 MiB"
    file.write_bytes(b"x" * (1 << 20))
    assert read_regular(file, 1 << 20) == b"x" * (1 << 20)


def test_a_file_stands_for_itself_by_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "real.gguf").write_bytes(b"x")
    (tmp_path / "link.gguf").symlink_to(tmp_path / "real.gguf")
    assert weight_files(tmp_path / "link.gguf") == {"link.gguf": tmp_path / "link.gguf"}


def test_a_safetensors_folder_as_the_ollama_cli_reads_it(tmp_path: Path) -> None:
    for name in (
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer.model",  # left out: tokenizer.json is there
        "extra.gguf",  # left out: safetensors come first
        "README.md",
        "sub/config.json",
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert sorted(weight_files(tmp_path)) == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "sub/config.json",
        "tokenizer.json",
    ]


def test_a_gguf_folder_and_tokenizer_model(tmp_path: Path) -> None:
    (tmp_path / "a.gguf").write_bytes(b"x")
    (tmp_path / "tokenizer.model").write_bytes(b"x")
    assert sorted(weight_files(tmp_path)) == ["a.gguf", "tokenizer.model"]


def test_a_folder_without_weights_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(WeightsNotFound, match="no weights found"):
        weight_files(tmp_path)


def test_the_source_of_several_files_is_stable() -> None:
    files = {"b.safetensors": "sha256:" + "2" * 64, "a.json": "sha256:" + "1" * 64}
    one = LocalWeights("/m", files)
    assert one.source == LocalWeights("/m", dict(reversed(files.items()))).source
    assert one.source.startswith("sha256:") and one.source not in files.values()
    assert not one.single_gguf


# ---- the GGUF chat-template probe ---------------------------------------------------------------


def test_chat_template_probe(tmp_path: Path) -> None:
    write_completion_model(tmp_path / "plain.gguf")
    write_lora_adapter(tmp_path / "lora.gguf")
    writer = gguf.GGUFWriter(tmp_path / "chat.gguf", arch="llama")
    writer.add_token_list(["a", "b"])  # an array of strings before the key: skipped
    writer.add_array("x.floats", [1.0, 2.0])
    writer.add_chat_template("{{ messages }}")
    writer.add_tensor("t", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    (tmp_path / "text.bin").write_text("not a model")
    (tmp_path / "cut.gguf").write_bytes((tmp_path / "plain.gguf").read_bytes()[:200])
    assert gguf_chat_template(tmp_path / "plain.gguf") is False
    assert gguf_chat_template(tmp_path / "lora.gguf") is False
    assert gguf_chat_template(tmp_path / "chat.gguf") is True
    assert gguf_chat_template(tmp_path / "text.bin") is None
    assert gguf_chat_template(tmp_path / "cut.gguf") is None


# ---- weight digests from /api/show ---------------------------------------------------------


def test_show_weights_reads_model_and_adapters() -> None:
    text = (
        '# Modelfile generated by "ollama show"\n'
        "# To build a new Modelfile based on this, replace FROM with:\n"
        "# FROM adkid:latest\n\n"
        f"FROM {BLOBS}/sha256-{MODEL}\n"
        f"ADAPTER {BLOBS}/sha256-{ADAPTER}\n"
        f"ADAPTER {BLOBS}/sha256-{ADAPTER}\n"
        f"FROM {BLOBS}/sha256-{'c' * 64}\n"  # a projector: not the model
        'TEMPLATE """FROM /x/sha256-' + "d" * 64 + '\n"""\n'
    )
    found = show_weights(show(text))
    assert found.model == "sha256:" + MODEL
    assert found.adapters == ("sha256:" + ADAPTER, "sha256:" + ADAPTER)


def test_show_weights_without_blobs() -> None:
    assert show_weights(show("")).model is None
    assert show_weights(show("FROM some-model:latest\nSYSTEM x\n")).model is None
