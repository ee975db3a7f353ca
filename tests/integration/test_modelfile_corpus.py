"""Our Modelfile parser against Ollama's own, on a corpus written for it.

Every Modelfile below is written in six encodings (UTF-8, UTF-8 with BOM, CRLF,
CRLF with BOM, UTF-16 LE and BE with BOM), then read by Ollama's parser of each
tested release (`modelfile-parser`, built by the test bed from the Ollama module
source: parser.ParseFile + CreateRequest, as `ollama create -f` does) and by ours
(decode_modelfile, parse_modelfile, the files we would upload, create_request).
The two create requests must be identical. The corpus exercises every command,
both quoting forms, comments, case, blanks, parameters of every type, local
files and folders, and characters whose printability differs between Python's
Unicode tables and Go's. Where Ollama's parser refuses a file, ours must too
(ERRORS); our own documented refusals (empty or invalid FROM) are not in it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.custom.files import weight_files
from provisioner.custom.hash_cache import sha256_file
from provisioner.custom.modelfile.grammar import decode_modelfile
from provisioner.custom.modelfile.parse import parse_modelfile
from provisioner.custom.modelfile.request import create_request
from provisioner.errors import ModelfileError
from tests.testbed.build import VERSIONS, ensure_parser
from tests.testbed.tiny_models import write_completion_model, write_lora_adapter

TEMPLATE = '''"""{{- if .System }}<|system|>
{{ .System }}</s>
{{ end }}<|user|>
{{ .Prompt }}</s>
<|assistant|>
"""'''


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    since: tuple[int, ...] = (0,)  # the first release whose parser knows every command


CORPUS = (
    Case("bare-from", "FROM llama3.2\n"),
    Case("lower-case-commands", "from llama3.2\nsystem hi\nparameter temperature 0.5\n"),
    Case("mixed-case-commands", "FrOm llama3.2\nSyStEm hi\nPaRaMeTeR top_k 7\n"),
    Case("no-final-newline", "FROM llama3.2\nSYSTEM no newline at the end"),
    Case("comments", "# a comment\nFROM llama3.2\n  # indented comment\nSYSTEM x # not one\n"),
    Case("blank-lines-and-indent", "\n\n   FROM llama3.2\n\n\t SYSTEM  spaced value  \n\n"),
    Case("namespaced-from", "FROM team/tiny:v1\n"),
    Case("hosted-from", "FROM 127.0.0.1:5000/library/tiny:latest\n"),
    Case("triple-quoted-template", f"FROM llama3.2\nTEMPLATE {TEMPLATE}\n"),
    Case("one-line-triple-quotes", 'FROM llama3.2\nSYSTEM """one line"""\n'),
    Case("double-quoted", 'FROM llama3.2\nSYSTEM "  keeps its blanks  "\n'),
    Case("double-quoted-multiline", 'FROM llama3.2\nSYSTEM "first\nsecond\n  third"\n'),
    Case("quotes-inside", 'FROM llama3.2\nSYSTEM say "hi" to them\nLICENSE """a "b" c"""\n'),
    Case("triple-quotes-with-blank-lines", 'FROM llama3.2\nSYSTEM """\n\nmiddle\n\n"""\n'),
    Case("empty-quoted-system", 'FROM llama3.2\nSYSTEM ""\nTEMPLATE """"""\n'),
    Case("replaced-system", "FROM llama3.2\nSYSTEM first\nSYSTEM second\n"),
    Case(
        "parameters-every-type",
        "FROM llama3.2\nPARAMETER num_ctx 4096\nPARAMETER temperature 0.7\n"
        "PARAMETER top_p 0.9\nPARAMETER top_k 40\nPARAMETER min_p 0.05\n"
        "PARAMETER repeat_penalty 1.1\nPARAMETER repeat_last_n -1\nPARAMETER seed 42\n"
        "PARAMETER num_predict 128\nPARAMETER use_mmap false\nPARAMETER typical_p 1\n"
        "PARAMETER presence_penalty 0.25\nPARAMETER frequency_penalty -0.5\n",
    ),
    Case(
        "float-spellings",
        "FROM llama3.2\nPARAMETER temperature 1e-1\nPARAMETER top_p .5\n"
        "PARAMETER min_p 0x1p-4\nPARAMETER repeat_penalty 1_000.5\nPARAMETER typical_p +3.\n",
    ),
    Case(
        "int-and-bool-spellings",
        "FROM llama3.2\nPARAMETER seed +7\nPARAMETER num_ctx 0042\nPARAMETER use_mmap T\n",
    ),
    Case(
        "stops",
        'FROM llama3.2\nPARAMETER stop <|user|>\nPARAMETER stop "</s>"\n'
        'PARAMETER stop """<|end|>"""\nPARAMETER stop ###\n',
    ),
    Case("repeated-parameter", "FROM llama3.2\nPARAMETER temperature 1\nPARAMETER temperature 0\n"),
    Case("deprecated-parameter", "FROM llama3.2\nPARAMETER mirostat 2\nPARAMETER seed 1\n"),
    Case("parameter-named-like-a-command", "FROM llama3.2\nPARAMETER system via parameter\n"),
    Case(
        "messages",
        "FROM llama3.2\nMESSAGE system You are a pirate.\nMESSAGE user Where: here?\n"
        'MESSAGE assistant """Arr,\nunder the palm."""\nMESSAGE user ""\n',
    ),
    Case("licenses", 'FROM llama3.2\nLICENSE MIT\nLICENSE """Apache 2.0\n\n  indented"""\n'),
    Case("local-gguf", "FROM ./tiny.gguf\nSYSTEM local\n"),
    Case("local-gguf-absolute", "FROM {dir}/tiny.gguf\n"),
    Case("local-folder", "FROM ./weights\nPARAMETER num_ctx 256\n"),
    Case("dot-folder-of-weights", "FROM .\n", since=(0,)),
    Case("adapter", "FROM ./tiny.gguf\nADAPTER ./lora.gguf\n"),
    Case("adapter-on-model", "FROM llama3.2\nADAPTER ./lora.gguf\nSYSTEM tuned\n"),
    Case("last-adapter-wins", "FROM llama3.2\nADAPTER ./tiny.gguf\nADAPTER ./lora.gguf\n"),
    Case("tabs", 'FROM\tllama3.2\nSYSTEM\ta\tb\t\nTEMPLATE """\t{{ .Prompt }}\t"""\n'),
    Case(
        "unicode-15-emoji",
        "FROM llama3.2\nSYSTEM You are sweet \U0001fa77 and shy \U0001fae8.\n",
    ),
    Case(
        "characters-go-drops",
        # NBSP, zero-width space, soft hyphen, a C1 control, a Unicode 15.1 ideograph
        # description character, a Unicode 16 emoji, private use: all dropped by Ollama.
        "FROM llama3.2\nSYSTEM a\u00a0b\u200bc\u00add\u0085e\u2ffcf\U0001fae9g\ue000h\n",
    ),
    Case("bom-and-zero-width-before-from", "\u200bFROM llama3.2\n"),
    Case(
        "scripts-and-marks",
        "FROM llama3.2\nSYSTEM Grüße, こんにちは, مرحبا, नमस्ते, e\u0301, 한국어 \U0001f600\n",
    ),
    Case("cr-inside-quotes", 'FROM llama3.2\nSYSTEM """a\r\nb"""\n'),
    Case("requires", "FROM llama3.2\nREQUIRES 0.14.0\n", since=(0, 14)),
    Case("requires-with-v", "FROM llama3.2\nREQUIRES v1.2.3-rc.1\n", since=(0, 14)),
)

ERRORS = (
    Case("no-from", "SYSTEM hi\n"),
    Case("unknown-command", "FROM llama3.2\nFOO bar\n"),
    Case("bad-role", "FROM llama3.2\nMESSAGE robot hi\n"),
    Case("unterminated-quote", 'FROM llama3.2\nSYSTEM """never closed\n'),
    Case("bad-int", "FROM llama3.2\nPARAMETER num_ctx lots\n"),
    Case("case-sensitive-parameter", "FROM llama3.2\nPARAMETER Temperature 1\n"),
    Case("missing-adapter", "FROM llama3.2\nADAPTER ./nope.gguf\n"),
    Case("symlinked-folder", "FROM ./linked/weights\n"),
)

ENCODINGS = ("utf-8", "utf-8-bom", "crlf", "crlf-bom", "utf-16-le", "utf-16-be")


def encode(text: str, encoding: str) -> bytes:
    if encoding.startswith("crlf"):
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if encoding.endswith("bom"):
        return b"\xef\xbb\xbf" + text.encode()
    if encoding.startswith("utf-16"):
        return "\ufeff".encode(encoding) + text.encode(encoding)
    return text.encode()


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Modelfiles' folder: weights next to them, a weights folder, a symlinked one."""
    root = tmp_path_factory.mktemp("corpus")
    write_completion_model(root / "tiny.gguf", seed=0)
    write_lora_adapter(root / "lora.gguf", seed=0)
    (root / "weights").mkdir()
    write_completion_model(root / "weights" / "model.gguf", seed=1)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "weights").mkdir()
    write_completion_model(outside / "weights" / "model.gguf", seed=2)
    (root / "linked").symlink_to(outside)
    return root


def ollama_request(version: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(ensure_parser(version)), "parse", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    # CreateRequest prints its own warnings (deprecated parameters) first
    parsed: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def _files(path: str) -> dict[str, str]:
    return {name: sha256_file(file) for name, file in weight_files(Path(path)).items()}


def our_request(path: Path) -> dict[str, Any]:
    """Our create request, or {"error": message}."""
    try:
        spec = parse_modelfile(
            decode_modelfile(path.read_bytes()), source=str(path), base_dir=path.parent
        )
    except ModelfileError as e:
        return {"error": e.message}
    files = _files(spec.from_) if spec.from_is_path else None
    adapters = _files(spec.adapters[-1]) if spec.adapters else None
    return create_request(spec, "m", files=files, adapters=adapters)


def comparable(request: dict[str, Any]) -> dict[str, Any]:
    """Drop what only one side sets (the model name, stream) and Go's empty fields."""
    return {
        key: value
        for key, value in request.items()
        if key not in ("model", "name", "stream") and value not in (None, "", [], {}, False)
    }


def write(folder: Path, case: Case, encoding: str) -> Path:
    path = folder / f"{case.name}.{encoding}.Modelfile"
    path.write_bytes(encode(case.text.replace("{dir}", str(folder)), encoding))
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_every_corpus_modelfile_gives_ollamas_own_create_request(
    version: str, folder: Path
) -> None:
    cases = [c for c in CORPUS if version_tuple(version) >= c.since]
    assert len(cases) >= 30
    compared, differ = 0, []
    for case in cases:
        for encoding in ENCODINGS:
            path = write(folder, case, encoding)
            theirs, ours = ollama_request(version, path), our_request(path)
            assert "error" not in theirs, (case.name, encoding, theirs)
            if comparable(ours) != comparable(theirs):
                differ.append((case.name, encoding, comparable(ours), comparable(theirs)))
            compared += 1
    assert differ == []
    assert compared == len(cases) * len(ENCODINGS)


@pytest.mark.parametrize("version", VERSIONS)
def test_what_ollamas_parser_refuses_ours_refuses(version: str, folder: Path) -> None:
    for case in ERRORS:
        for encoding in ("utf-8", "crlf-bom", "utf-16-le"):
            path = write(folder, case, encoding)
            theirs, ours = ollama_request(version, path), our_request(path)
            assert "error" in theirs, (case.name, encoding, theirs)
            assert "error" in ours, (case.name, encoding, ours)


@pytest.mark.parametrize("version", VERSIONS)
def test_printable_table_is_the_one_ollama_is_built_with(version: str) -> None:
    from provisioner.custom.printable import GO_UNICODE_VERSION, not_printable_ranges

    out = subprocess.run(
        [str(ensure_parser(version)), "printable"], capture_output=True, text=True, check=True
    )
    table = json.loads(out.stdout)
    assert table["unicode"] == GO_UNICODE_VERSION
    assert [tuple(r) for r in table["not_printable"]] == not_printable_ranges()


INVALID_BYTES = (
    b"FROM llama3.2\nSYSTEM a\xe2\x82b\xffc\xed\xa0\x80d\xf0\x9f\x98e\xc0\xafz\n",
    b"\xef\xbb\xbfFROM llama3.2\r\nSYSTEM \x80\x80 \xe2\x82\xac\r\n",
    b"\xff\xfe" + "FROM llama3.2\nSYSTEM a".encode("utf-16-le") + b"\x00\xd8b\x00\n\x00",
    b"\xfe\xff" + "FROM llama3.2\nSYSTEM a\n".encode("utf-16-be") + b"\x00",
)


@pytest.mark.parametrize("version", VERSIONS)
def test_invalid_bytes_decode_as_ollama_decodes_them(version: str, folder: Path) -> None:
    for i, data in enumerate(INVALID_BYTES):
        path = folder / f"invalid-{i}.Modelfile"
        path.write_bytes(data)
        theirs, ours = ollama_request(version, path), our_request(path)
        if "error" in theirs:  # an odd last byte of UTF-16: a stray U+FFFD, no command
            assert "error" in ours, (i, ours, theirs)
        else:
            assert comparable(ours) == comparable(theirs), (i, ours, theirs)
