"""FROM/ADAPTER paths that are neither a regular file nor a folder (/dev/zero, a FIFO, a
socket) are refused when the manifest is read, at the position of the value, in every
form (a Modelfile inline or on disk, the structured `from:` and `adapters:`). Ollama's
own CLI (v0.11.4 and v0.34.4) hashes /dev/zero or a FIFO forever."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.custom.modelfile.parse import parse_modelfile
from provisioner.custom.modelfile.paths import special_file
from provisioner.errors import ManifestError, ModelfileError
from provisioner.manifest.load import load_manifest


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.gguf"
    os.mkfifo(path)
    return path


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    yield path
    server.close()


def test_special_file_names_the_kind(tmp_path: Path, fifo: Path, sock: Path) -> None:
    (tmp_path / "w.gguf").write_bytes(b"x")
    assert special_file(str(tmp_path / "w.gguf")) is None
    assert special_file(str(tmp_path)) is None
    assert special_file(str(tmp_path / "missing")) is None
    assert special_file("/dev/zero") == "a character device"
    assert special_file(str(fifo)) == "a FIFO (named pipe)"
    assert special_file(str(sock)) == "a socket"


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("FROM /dev/zero\n", 6, "FROM '/dev/zero' is a character device"),
        ("FROM ./pipe.gguf\n", 6, "FROM './pipe.gguf' is a FIFO (named pipe)"),
        ("FROM ./w.gguf\nADAPTER   ./pipe.gguf\n", 11, "ADAPTER './pipe.gguf' is a FIFO"),
    ],
)
def test_a_modelfile_from_or_adapter_that_is_not_a_file(
    tmp_path: Path, fifo: Path, text: str, column: int, message: str
) -> None:
    (tmp_path / "w.gguf").write_bytes(b"x")
    started = time.monotonic()
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text, source="Modelfile", base_dir=tmp_path)
    assert time.monotonic() - started < 5
    assert (caught.value.file, caught.value.line, caught.value.column) == (
        "Modelfile",
        text.count("\n"),
        column,
    )
    assert caught.value.message.startswith(message)
    assert caught.value.message.endswith(
        "not a file or folder of weights: point "
        f"{message.split()[0]} at a GGUF or safetensors "
        "file or folder"
    )


def test_the_structured_form_is_checked_too(tmp_path: Path, fifo: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\n"
        "models:\n"
        "  - name: a\n"
        "    from: /dev/zero\n"
        "  - name: b\n"
        "    from: ./w.gguf\n"
        "    adapters: [./pipe.gguf]\n"
    )
    (tmp_path / "w.gguf").write_bytes(b"x")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4:11: 'from' path '/dev/zero' is a character device, not a file or folder "
        "of weights; point 'from' at a GGUF or safetensors file or folder",
        f"{path}:7:16: adapter './pipe.gguf' is a FIFO (named pipe), not a file or folder "
        "of weights; point it at a GGUF or safetensors adapter",
    ]
