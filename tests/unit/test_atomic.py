from pathlib import Path

import pytest

from provisioner.atomic import write_atomically


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
