"""Issue 11 ("Fidelity"), the pure parts: each case where our reading of a Modelfile
or a name differed from Ollama's, without a server (the real-server side is in
tests/integration/test_fidelity.py)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from provisioner.custom.modelfile.grammar import decode_modelfile
from provisioner.custom.modelfile.parse import parse_modelfile
from provisioner.custom.modelfile.write import to_modelfile
from provisioner.custom.printable import GO_UNICODE_VERSION, is_printable, not_printable_ranges
from provisioner.errors import ManifestError, ModelfileError
from provisioner.manifest.load import load_manifest
from provisioner.names import parse_name
from provisioner.server.registry import registry_repository

# Unicode 15.0 (Go's tables keep them; Python 3.10 and 3.11 call them unassigned),
# 15.1 (Python 3.13 prints it; Go does not), 16.0 (nobody prints it yet).
PINK_HEART, SHAKING_FACE = "\U0001fa77", "\U0001fae8"
IDEOGRAPHIC_15_1 = "\u2ffc"
FACE_16 = "\U0001fae9"


# ---- 1. registry reads -------------------------------------------------------------------


def test_registry_is_read_at_the_lower_case_repository() -> None:
    name = parse_name("127.0.0.1:5000/Team/TINY:V1")
    assert registry_repository(name) == "team/tiny"
    assert name.tag == "V1"  # tags are case-sensitive in a registry: sent as written


# ---- 2. text is kept or dropped by Go's tables, not Python's ---------------------------


def test_printable_is_gos_unicode_15_table_whatever_python_runs() -> None:
    assert GO_UNICODE_VERSION == "15.0.0"
    assert is_printable(PINK_HEART) and is_printable(SHAKING_FACE)
    assert not is_printable(IDEOGRAPHIC_15_1)  # Python 3.13 says printable
    assert not is_printable(FACE_16)
    for char in " a~é\u00a1\u3000"[:-1]:
        assert is_printable(char)
    for char in "\t\n\r\x00\x7f\u00a0\u00ad\u200b\u2028\ufeff\ue000\ud800\u3000":
        assert not is_printable(char), repr(char)
    ranges = not_printable_ranges()
    assert ranges[0] == (0, 0x1F) and ranges[-1][1] == 0x10FFFF


def test_unicode_15_emoji_are_kept_and_newer_characters_dropped(tmp_path: Path) -> None:
    newer = IDEOGRAPHIC_15_1 + FACE_16
    text = f"FROM x\nSYSTEM You are sweet {PINK_HEART} and shy {SHAKING_FACE}.{newer}\n"
    spec = parse_modelfile(text, source="M", base_dir=tmp_path)
    assert spec.system == f"You are sweet {PINK_HEART} and shy {SHAKING_FACE}."
    assert parse_modelfile(to_modelfile(spec), source="M", base_dir=tmp_path) == spec


def test_writer_refuses_what_go_would_drop() -> None:
    from provisioner.types.manifest import CreateSpec

    with pytest.raises(ValueError):
        to_modelfile(CreateSpec(from_="x", system=f"new {IDEOGRAPHIC_15_1}"))
    assert PINK_HEART in to_modelfile(CreateSpec(from_="x", system=PINK_HEART))


def test_a_non_ascii_letter_never_folds_into_a_command(tmp_path: Path) -> None:
    # Python upper-cases U+017F (long s) to "S"; Go's parser lower-cases the word,
    # which leaves it "\u017fystem": not a command.
    with pytest.raises(ModelfileError, match="unknown command '\u017fYSTEM'"):
        parse_modelfile("FROM x\n\u017fYSTEM hi\n", source="M", base_dir=tmp_path)


def test_invalid_utf8_is_replaced_as_go_decodes_it() -> None:
    # one U+FFFD per maximal invalid subpart (seen from Ollama's parser in the corpus test)
    assert decode_modelfile(b"SYSTEM a\xe2\x82b") == "SYSTEM a\ufffdb"
    assert decode_modelfile(b"\xed\xa0\x80") == "\ufffd" * 3
    assert decode_modelfile(b"\xef\xbb\xbfFROM x") == "FROM x"
    assert decode_modelfile("\ufeffFROM 🩷".encode("utf-16-le")) == "FROM 🩷"
    assert decode_modelfile("\ufeffFROM 🩷".encode("utf-16-be")) == "FROM 🩷"


# ---- 3. symlinked folders ------------------------------------------------------------------


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A Modelfile folder whose ./models is a symlink to a folder outside it."""
    outside = tmp_path / "outside"
    for folder in ("mistral-7b-merged", "checkpoint"):
        (outside / folder).mkdir(parents=True)
        (outside / folder / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    (outside / "single.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    here = tmp_path / "here"
    here.mkdir()
    (here / "models").symlink_to(outside)
    return here


def test_a_folder_reached_through_a_symlink_is_refused_as_ollama_does(linked: Path) -> None:
    for text, column in (
        ("FROM ./models/mistral-7b-merged\n", 6),
        ("FROM x\nADAPTER ./models/checkpoint\n", 9),
    ):
        with pytest.raises(ModelfileError) as caught:
            parse_modelfile(text, source="M", base_dir=linked)
        error = caught.value
        assert (error.line, error.column) == (text.count("\n"), column)
        resolved = os.path.realpath(linked / "models")
        assert error.message.startswith("insecure path: ")
        assert f"resolves to {resolved}/" in error.message


def test_a_file_through_a_symlink_and_a_folder_inside_are_fine(linked: Path) -> None:
    # Ollama refuses only folders (their files must stay inside); a file is read as is.
    spec = parse_modelfile("FROM ./models/single.gguf\n", source="M", base_dir=linked)
    assert spec.from_ == str(linked / "models" / "single.gguf") and spec.from_is_path
    real = linked.parent / "outside"
    spec = parse_modelfile("FROM ./mistral-7b-merged\n", source="M", base_dir=real)
    assert spec.from_is_path


def test_a_folder_with_a_weight_file_linked_from_elsewhere_is_refused(tmp_path: Path) -> None:
    # The Hugging Face cache layout: snapshot files are symlinks into ../../blobs.
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "abc").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    (tmp_path / "snapshot").mkdir()
    (tmp_path / "snapshot" / "model.safetensors").symlink_to(tmp_path / "blobs" / "abc")
    with pytest.raises(ModelfileError, match=r"insecure path: .*resolves to .*/blobs/abc"):
        parse_modelfile("FROM ./snapshot\n", source="M", base_dir=tmp_path)


# ---- 4. empty or placeholder FROM, positions in the Modelfile -------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("FROM \n", 1, 6, "empty FROM"),
        ("# base\nFROM    \nSYSTEM x\n", 2, 9, "empty FROM"),
        ("FROM \t", 1, 7, "empty FROM"),
        ("SYSTEM x\nFROM <your model here>\n", 2, 6, "base '<your model here>' is neither"),
        ("FROM my model\n", 1, 6, "base 'my model' is neither"),
        ("FROM x\nADAPTER \n", 2, 9, "ADAPTER path '' does not exist"),
        ("FROM ./empty-folder\n", 1, 6, "FROM folder"),
    ],
)
def test_empty_or_placeholder_from_is_a_parse_error_at_its_place(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    (tmp_path / "empty-folder").mkdir()
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text, source="M", base_dir=tmp_path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert caught.value.message.startswith(message)


def _problems(folder: Path, manifest: str) -> list[str]:
    (folder / "m.yaml").write_text(textwrap.dedent(manifest))
    with pytest.raises(ManifestError) as caught:
        load_manifest("m.yaml", env={})  # relative, as a user types it
    return [str(p) for p in caught.value.problems]


def test_every_problem_of_a_modelfile_on_disk_names_the_modelfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mf"
    folder.mkdir()
    (folder / "empty.Modelfile").write_text("# nothing yet\nFROM \n")
    (folder / "absent.Modelfile").write_text("SYSTEM x\nFROM old\n")
    (folder / "self.Modelfile").write_text("\ufeffFROM loop\r\n")
    found = _problems(
        tmp_path,
        """\
        version: 1
        models:
          - name: e
            modelfile_path: mf/empty.Modelfile
          - name: old
            state: absent
          - name: a
            modelfile_path: mf/absent.Modelfile
          - name: loop
            modelfile_path: mf/self.Modelfile
        """,
    )
    assert [p.split(": ", 1)[0] for p in found] == [
        "mf/empty.Modelfile:2:6",
        "mf/absent.Modelfile:2:6",
        "mf/self.Modelfile:1:6",
    ]
    assert "empty FROM" in found[0]
    assert "declared 'state: absent' at line 5" in found[1]
    assert "built from itself" in found[2]


def test_a_problem_with_an_inline_modelfiles_base_is_at_its_from_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = _problems(
        tmp_path,
        """\
        version: 1
        models:
          - name: old
            state: absent
          - name: a
            modelfile: |
              SYSTEM x
              FROM old
        """,
    )
    assert found == [
        "m.yaml:8:12: base 'old' is declared 'state: absent' at line 3; keep it, "
        "since 'a' is built from it"
    ]


# ---- 2b. the same on the oldest and newest supported Pythons ---------------------------------

_CHECK = """
from pathlib import Path
from provisioner.custom.modelfile.grammar import decode_modelfile
from provisioner.custom.modelfile.parse import parse_modelfile
from provisioner.custom.modelfile.write import to_modelfile
text = "FROM x\\nSYSTEM You are sweet \\U0001fa77 and shy \\U0001fae8.\\u2ffc\\U0001fae9\\n"
crlf = text.replace("\\n", "\\r\\n")
for data in (text.encode(), text.encode("utf-16"), crlf.encode("utf-8-sig")):
    spec = parse_modelfile(decode_modelfile(data), source="M", base_dir=Path("/nonexistent"))
    assert spec.system == "You are sweet \\U0001fa77 and shy \\U0001fae8.", ascii(spec.system)
    assert parse_modelfile(to_modelfile(spec), source="M", base_dir=Path("/nonexistent")) == spec
"""


def _interpreters() -> list[str]:
    found = []
    for version in ("3.10", "3.13"):
        pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
        found += [str(p) for p in pyenv[-1:]] or [f"python{version}"]
    return found


@pytest.mark.parametrize("python", _interpreters())
def test_the_parser_keeps_unicode_15_emoji_on_other_pythons(python: str) -> None:
    import shutil
    import subprocess

    if shutil.which(python) is None:
        pytest.skip(f"{python} is not installed here")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([python, "-c", _CHECK], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
