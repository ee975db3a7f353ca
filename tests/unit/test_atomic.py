import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.atomic import write_atomically, write_chunks_atomically
from provisioner.errors import TargetExists


def test_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.mkdir()  # renaming a file over a folder fails
    with pytest.raises(OSError):
        write_atomically(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert target.is_dir()


def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        write_atomically(fresh, "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        private = tmp_path / "private.json"
        private.write_text("old")
        private.chmod(0o600)
        write_atomically(private, "new")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_without_overwrite_an_existing_target_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_text("mine")
    with pytest.raises(TargetExists):
        write_atomically(target, "theirs", overwrite=False)
    assert target.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_a_failing_check_writes_nothing(tmp_path: Path) -> None:
    def refuse(temp: Path) -> None:
        assert temp.read_text() == "draft"  # the check sees the bytes on disk
        raise ValueError("no")

    with pytest.raises(ValueError):
        write_atomically(tmp_path / "a.yaml", "draft", check=refuse)
    assert list(tmp_path.iterdir()) == []


def test_a_mode_asked_for_wins_over_the_target_and_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "verdict.json"
    target.write_text("old")
    target.chmod(0o644)
    write_atomically(target, "new", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new"


def test_chunks_stream_in_and_a_failing_source_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    assert write_chunks_atomically(target, [b"ab", b"", b"cde"]) == 5
    assert target.read_bytes() == b"abcde"

    def corrupt() -> Iterator[bytes]:
        yield b"xy"
        raise ValueError("digest mismatch")

    with pytest.raises(ValueError):
        write_chunks_atomically(target, corrupt())
    assert target.read_bytes() == b"abcde"
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]
