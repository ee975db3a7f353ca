"""Modelfile parsing, writing and the create request, checked against Ollama's behaviour.

Expected values in the tables were cross-checked with Ollama's own parser
(parser.ParseFile + CreateRequest at v0.11.4 and v0.32.15) run on the same text.
"{base}" stands for the folder the Modelfile is in.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provisioner.custom.modelfile.grammar import ROLES, decode_modelfile
from provisioner.custom.modelfile.parse import parse_modelfile, parse_modelfile_with_warnings
from provisioner.custom.modelfile.request import create_request
from provisioner.custom.modelfile.write import to_modelfile
from provisioner.errors import ModelfileError
from provisioner.types.manifest import CreateSpec


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("modelfiles")
    (folder / "model.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    (folder / "lora.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    (folder / "weights").mkdir()
    safetensors = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "  # a header, no tensors
    (folder / "weights" / "model.safetensors").write_bytes(safetensors)
    return folder


def parse(text: str, base: Path) -> CreateSpec:
    return parse_modelfile(text.replace("{base}", str(base)), source="Modelfile", base_dir=base)


def at_base(spec: CreateSpec, base: Path) -> CreateSpec:
    return dataclasses.replace(
        spec,
        from_=spec.from_.replace("{base}", str(base)),
        adapters=tuple(path.replace("{base}", str(base)) for path in spec.adapters),
    )


TEMPLATE = """\
FROM llama3.2
TEMPLATE \"\"\"{{ if .System }}<|system|>
{{ .System }}<|end|>
{{ end }}<|user|>
{{ .Prompt }}<|end|>
\"\"\"
"""

PARSES: list[tuple[str, str, CreateSpec]] = [
    ("registry model", "FROM llama3.2\n", CreateSpec(from_="llama3.2")),
    (
        "registry model kept verbatim",
        "FROM 127.0.0.1:5000/team/Tiny:v2\n",
        CreateSpec(from_="127.0.0.1:5000/team/Tiny:v2"),
    ),
    (
        "local gguf",
        "FROM ./model.gguf\n",
        CreateSpec(from_="{base}/model.gguf", from_is_path=True),
    ),
    (
        "an existing bare name is a path",
        "FROM model.gguf\n",
        CreateSpec(from_="{base}/model.gguf", from_is_path=True),
    ),
    (
        "absolute path",
        "FROM {base}/model.gguf\n",
        CreateSpec(from_="{base}/model.gguf", from_is_path=True),
    ),
    ("folder", "FROM ./weights/\n", CreateSpec(from_="{base}/weights", from_is_path=True)),
    ("dot is the folder", "FROM .\n", CreateSpec(from_="{base}", from_is_path=True)),
    (
        "quoted path",
        'FROM "./model.gguf"\n',
        CreateSpec(from_="{base}/model.gguf", from_is_path=True),
    ),
    (
        "adapter",
        "FROM llama3.2\nADAPTER ./lora.gguf\n",
        CreateSpec(from_="llama3.2", adapters=("{base}/lora.gguf",)),
    ),
    (
        "multi-line template",
        TEMPLATE,
        CreateSpec(
            from_="llama3.2",
            template="{{ if .System }}<|system|>\n{{ .System }}<|end|>\n{{ end }}<|user|>\n"
            "{{ .Prompt }}<|end|>\n",
        ),
    ),
    (
        "several stops accumulate",
        'FROM x\nPARAMETER stop "<|end|>"\nPARAMETER stop <|user|>\nPARAMETER stop "  "\n',
        CreateSpec(from_="x", parameters={"stop": ["<|end|>", "<|user|>", "  "]}),
    ),
    (
        "typed parameters",
        "FROM x\nPARAMETER num_ctx 8192\nPARAMETER temperature 0.7\nPARAMETER top_p 0.9\n"
        "PARAMETER use_mmap false\nPARAMETER seed -1\nPARAMETER repeat_penalty 1.1\n"
        'PARAMETER num_predict "128"\nPARAMETER main_gpu +0\n',
        CreateSpec(
            from_="x",
            parameters={
                "num_ctx": 8192,
                "temperature": 0.7,
                "top_p": 0.9,
                "use_mmap": False,
                "seed": -1,
                "repeat_penalty": 1.1,
                "num_predict": 128,
                "main_gpu": 0,
            },
        ),
    ),
    (
        "a repeated parameter replaces",
        "FROM x\nPARAMETER temperature 0.1\nPARAMETER temperature 0.2\n",
        CreateSpec(from_="x", parameters={"temperature": 0.2}),
    ),
    (
        "floats are float32, sent as the shortest decimal",
        "FROM x\nPARAMETER temperature 0.123456789\nPARAMETER top_p 24.8984375\n"
        "PARAMETER min_p 1e-46\nPARAMETER typical_p 0x1p-2\nPARAMETER repeat_penalty 1_0.5\n"
        "PARAMETER presence_penalty 3.4028235e38\nPARAMETER frequency_penalty -0\n",
        CreateSpec(
            from_="x",
            parameters={
                "temperature": 0.12345679,
                "top_p": 24.898438,
                "min_p": 0.0,
                "typical_p": 0.25,
                "repeat_penalty": 10.5,
                "presence_penalty": 3.4028235e38,
                "frequency_penalty": -0.0,
            },
        ),
    ),
    (
        "bools as Go reads them",
        "FROM x\nPARAMETER use_mmap T\n",
        CreateSpec(from_="x", parameters={"use_mmap": True}),
    ),
    (
        "message pairs",
        "FROM x\nMESSAGE system Be brief.\nMESSAGE user What is 2+2?\n"
        'MESSAGE assistant Answer: 4\nMESSAGE user """and\n3+3?"""\nMESSAGE assistant 6\n',
        CreateSpec(
            from_="x",
            messages=(
                ("system", "Be brief."),
                ("user", "What is 2+2?"),
                ("assistant", "Answer: 4"),
                ("user", "and\n3+3?"),
                ("assistant", "6"),
            ),
        ),
    ),
    (
        "several licenses",
        'FROM x\nLICENSE MIT\nLICENSE """Line one\nline two"""\nLICENSE ""\n',
        CreateSpec(from_="x", license=("MIT", "Line one\nline two", "")),
    ),
    ("requires", "FROM x\nREQUIRES 0.14.0\n", CreateSpec(from_="x", requires="0.14.0")),
    (
        "requires drops v; semver shorthand",
        "FROM x\nREQUIRES v0.5\n",
        CreateSpec(from_="x", requires="0.5"),
    ),
    (
        "commands are case-insensitive",
        "from x\nSystem hi\nparameter num_ctx 1\nmEsSaGe user hello\nLicense L\n",
        CreateSpec(
            from_="x",
            system="hi",
            parameters={"num_ctx": 1},
            messages=(("user", "hello"),),
            license=("L",),
        ),
    ),
    (
        "comments only where a command starts",
        "# a comment\nFROM x\n   # indented comment\nSYSTEM a # not a comment\n",
        CreateSpec(from_="x", system="a # not a comment"),
    ),
    ("byte order mark", "\ufeffFROM x\n", CreateSpec(from_="x")),
    (
        "CRLF keeps \\r\\n inside multi-line values, as Ollama does",
        'FROM x\r\nSYSTEM """a\r\nb"""\r\nPARAMETER stop x\r\nPARAMETER num_ctx 2\r\n',
        CreateSpec(from_="x", system="a\r\nb", parameters={"stop": ["x"], "num_ctx": 2}),
    ),
    ("CR line ends", "FROM x\rSYSTEM y\r", CreateSpec(from_="x", system="y")),
    ("no final newline", "FROM x\nSYSTEM y", CreateSpec(from_="x", system="y")),
    (
        "an empty system or template means unset",
        'FROM x\nSYSTEM first\nSYSTEM ""\nTEMPLATE """"""\n',
        CreateSpec(from_="x"),
    ),
    (
        "quote forms",
        'FROM x\nSYSTEM "  padded  "\nTEMPLATE """"quoted""""\nLICENSE "a" "b"\nLICENSE say "hi"\n',
        CreateSpec(
            from_="x", system="  padded  ", template='"quoted"', license=('a" "b', 'say "hi"')
        ),
    ),
    (
        "a double quote also spans lines",
        'FROM x\nSYSTEM "one\n\ntwo"\n',
        CreateSpec(from_="x", system="one\n\ntwo"),
    ),
    (
        "non-printable characters are dropped, tabs kept",
        "FROM x\nSYSTEM a\x07b\u200bc\td\n",
        CreateSpec(from_="x", system="abc\td"),
    ),
    (
        "tab separators",
        "FROM\tx\nPARAMETER\tnum_ctx\t8\n",
        CreateSpec(from_="x", parameters={"num_ctx": 8}),
    ),
    (
        "a parameter named like a command acts as the command",
        "FROM x\nPARAMETER system hi\nPARAMETER message user: a: b\n",
        CreateSpec(from_="x", system="hi", messages=(("user", "a: b"),)),
    ),
    (
        "deprecated parameters are dropped",
        "FROM x\nPARAMETER mirostat 2\nPARAMETER use_mlock true\n",
        CreateSpec(from_="x"),
    ),
    ("a stray zero-width space before a command", "\u200bFROM x\n", CreateSpec(from_="x")),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in PARSES], ids=[case[0] for case in PARSES]
)
def test_parses_like_ollama(text: str, expected: CreateSpec, base: Path) -> None:
    assert parse(text, base) == at_base(expected, base)


VALID = "use one of FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE, MESSAGE, REQUIRES"
SPANS = ' (a text that spans lines needs """triple quotes""")'

ERRORS: list[tuple[str, str]] = [
    ("FROM x\nFOO bar\n", f"2:1: unknown command 'FOO': {VALID}"),
    ("FROM x\nSYTEM hi\n", "2:1: unknown command 'SYTEM': did you mean SYSTEM?"),
    ("FROM x\nSYSTEM one\ntwo\n", f"3:1: unknown command 'two': {VALID}{SPANS}"),
    ("FROM x\nFROM: y\n", "2:1: unknown command 'FROM:': did you mean FROM?"),
    ("FROM x\nSYSTEM\n", "2:1: incomplete SYSTEM: write `SYSTEM <text>`"),
    ("FROM", "1:1: incomplete FROM: write `FROM <model or path>`"),
    ("FROM x\nDRAFT ./d.gguf\n", "2:1: DRAFT is not supported by ollama-provision yet: remove it"),
    (
        'FROM x\nTEMPLATE """{{ .Prompt }}\n\nSYSTEM hi\n',
        '2:10: unterminated """ value: end its last line with """',
    ),
    ('FROM x\nSYSTEM   "abc\n', '2:10: unterminated " value: end its last line with "'),
    ('FROM x\nSYSTEM "a" b\n', '2:8: unterminated " value: end its last line with "'),
    ("SYSTEM hi\n", "1:1: no FROM line: add `FROM <model or path>`"),
    ("", "1:1: no FROM line: add `FROM <model or path>`"),
    (
        "FROM x\nPARAMETER num_ctx abc\n",
        "2:19: invalid value 'abc' for parameter 'num_ctx': expected an integer",
    ),
    (
        "FROM x\nPARAMETER num_ctx 1_000\n",
        "2:19: invalid value '1_000' for parameter 'num_ctx': expected an integer",
    ),
    (
        "FROM x\nPARAMETER seed 9223372036854775808\n",
        "2:16: invalid value '9223372036854775808' for parameter 'seed': expected an integer "
        "between -9223372036854775808 and 9223372036854775807",
    ),
    (
        "FROM x\nPARAMETER temperature warm\n",
        "2:23: invalid value 'warm' for parameter 'temperature': expected a number",
    ),
    (
        'FROM x\nPARAMETER temperature " 0.5"\n',
        "2:23: invalid value ' 0.5' for parameter 'temperature': expected a number",
    ),
    (
        "FROM x\nPARAMETER temperature 1e39\n",
        "2:23: invalid value '1e39' for parameter 'temperature': "
        "expected a number within the float32 range (about ±3.4e38)",
    ),
    (
        "FROM x\nPARAMETER temperature NaN\n",
        "2:23: invalid value 'NaN' for parameter 'temperature': expected a finite number",
    ),
    (
        "FROM x\nPARAMETER use_mmap yes\n",
        "2:20: invalid value 'yes' for parameter 'use_mmap': expected true or false",
    ),
    (
        "FROM x\nPARAMETER Temperature 0.5\n",
        "2:11: unknown parameter 'Temperature': did you mean 'temperature'? "
        "(names are case-sensitive)",
    ),
    (
        "FROM x\nPARAMETER draft x\n",
        "2:11: unknown parameter 'draft': use one of draft_num_predict, frequency_penalty, "
        "main_gpu, min_p, num_batch, num_ctx, num_gpu, num_keep, num_predict, num_thread, "
        "presence_penalty, repeat_last_n, repeat_penalty, seed, stop, temperature, top_k, "
        "top_p, typical_p, use_mmap",
    ),
    (
        "FROM x\nPARAMETER temp-x 1\n",
        "2:11: invalid parameter name 'temp-x': use letters, digits and _",
    ),
    (
        "FROM x\nPARAMETER num_ctx\n",
        "2:18: incomplete PARAMETER num_ctx: write `PARAMETER num_ctx <value>`",
    ),
    (
        "FROM x\nPARAMETER  num_ctx 1\n",
        "2:11: incomplete PARAMETER: write `PARAMETER <name> <value>` (single spaces)",
    ),
    (
        "FROM x\nMESSAGE User hi\n",
        "2:9: invalid message role 'User': use system, user or assistant",
    ),
    (
        "FROM x\nMESSAGE user: hi\n",
        "2:9: invalid message role 'user:': use system, user or assistant",
    ),
    (
        "FROM x\nPARAMETER message bot: hi\n",
        "2:19: invalid message role 'bot': use system, user or assistant",
    ),
    ("FROM x\nMESSAGE user\n", "2:13: incomplete MESSAGE user: write `MESSAGE user <text>`"),
    (
        "FROM x\nREQUIRES 1.x\n",
        "2:10: invalid REQUIRES version '1.x': use a semantic version such as 0.14.0",
    ),
    (
        "FROM x\nREQUIRES 1.2.3-01\n",
        "2:10: invalid REQUIRES version '1.2.3-01': use a semantic version such as 0.14.0",
    ),
    (
        "FROM ./missing.gguf\n",
        "1:6: FROM path './missing.gguf' does not exist (looked for {base}/missing.gguf): "
        "fix the path, or name a model without ./ / ~",
    ),
    (
        "FROM x\nADAPTER missing.gguf\n",
        "2:9: ADAPTER path 'missing.gguf' does not exist (looked for {base}/missing.gguf): "
        "fix the path; relative paths start at the Modelfile's folder",
    ),
    ("FROM x\n\nFROM y\n", "3:1: second FROM (the first is on line 1): keep one"),
    ("FROM x\r\nSYSTEM a\r\nBAD x\r\n", f"3:1: unknown command 'BAD': {VALID}{SPANS}"),
    (
        "\ufeffFROM x\nPARAMETER num_ctx z",
        "2:19: invalid value 'z' for parameter 'num_ctx': expected an integer",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[e[1].split(": ")[1] for e in ERRORS])
def test_errors_name_line_and_column(text: str, message: str, base: Path) -> None:
    with pytest.raises(ModelfileError) as caught:
        parse(text, base)
    assert str(caught.value) == "Modelfile:" + message.replace("{base}", str(base))
    line, column = (int(part) for part in message.split(":")[:2])
    assert (caught.value.file, caught.value.line, caught.value.column) == (
        "Modelfile",
        line,
        column,
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("FROM x\n\x1b[31mRED x\n", "unknown command '\\x1b[31mRED'"),
        ("FROM x\nSYS\u2028TEM\n", "unknown command 'SYS\\u2028TEM'"),
        ("FROM x\nPARAMETER te\x85mp 1\n", "invalid parameter name 'te\\x85mp'"),
        ("FROM x\nMESSAGE us\x0ber hi\n", "invalid message role 'us\\x0ber'"),
    ],
)
def test_an_error_quoting_control_characters_escapes_them(
    text: str, shown: str, base: Path
) -> None:
    # Found by tests/fuzz_modelfile.py: the quoted token went out raw, so an ESC reached
    # the terminal and a VT, NEL or U+2028 split the one-line error.
    with pytest.raises(ModelfileError) as caught:
        parse(text, base)
    assert shown in caught.value.message
    assert str(caught.value).isprintable()


def test_warnings_for_what_ollama_ignores(base: Path) -> None:
    text = "FROM x\nPARAMETER mirostat 1\nADAPTER lora.gguf\nADAPTER ./lora.gguf\n"
    spec, warnings = parse_modelfile_with_warnings(text, source="M", base_dir=base)
    assert spec.adapters == (str(base / "lora.gguf"),)
    assert warnings == [
        "M:2:1: parameter 'mirostat' is deprecated and Ollama ignores it: remove it",
        "M:4:1: this ADAPTER replaces the one on line 3: Ollama uses only the last",
    ]


def test_home_folder_is_expanded(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(base))
    assert parse("FROM ~/model.gguf\n", Path("/elsewhere")).from_ == str(base / "model.gguf")
    with pytest.raises(ModelfileError, match="FROM path '~/nothing' does not exist"):
        parse("FROM ~/nothing\n", Path("/elsewhere"))


def test_decode_accepts_utf8_and_utf16_byte_order_marks() -> None:
    assert decode_modelfile("\ufeffFROM x\n".encode()) == "FROM x\n"
    assert decode_modelfile("\ufeffFROM ü\n".encode("utf-16-le")) == "FROM ü\n"
    assert decode_modelfile("\ufeffFROM ü\n".encode("utf-16-be")) == "FROM ü\n"


# ---- writing ----------------------------------------------------------------------------


def test_to_modelfile_picks_the_plainest_quoting() -> None:
    spec = CreateSpec(
        from_="llama3.2",
        system="  padded",
        template='"quoted"\n{{ .Prompt }}',
        parameters={"stop": ["a", ""], "temperature": 0.7, "use_mmap": True, "num_ctx": 8},
        messages=(("user", "hi: there"),),
        license=("MIT", "x\ny"),
        requires="0.14.0",
    )
    assert to_modelfile(spec) == (
        "FROM llama3.2\n"
        'TEMPLATE """"quoted"\n{{ .Prompt }}"""\n'
        'SYSTEM "  padded"\n'
        "PARAMETER stop a\n"
        'PARAMETER stop ""\n'
        "PARAMETER temperature 0.7\n"
        "PARAMETER use_mmap true\n"
        "PARAMETER num_ctx 8\n"
        "MESSAGE user hi: there\n"
        "LICENSE MIT\n"
        'LICENSE """x\ny"""\n'
        "REQUIRES 0.14.0\n"
    )


@pytest.mark.parametrize(
    "spec",
    [
        CreateSpec(from_="x", system='one"""\ntwo'),  # no escapes: """ would end the value
        CreateSpec(from_="x", system="bell\x07"),
        CreateSpec(from_="x", adapters=("/a", "/b")),
        CreateSpec(from_="x", parameters={"Temperature": 1.0}),
        CreateSpec(from_="x", messages=(("tool", "x"),)),
    ],
)
def test_to_modelfile_refuses_what_a_modelfile_cannot_say(spec: CreateSpec) -> None:
    with pytest.raises(ValueError):
        to_modelfile(spec)


def test_quantize_is_not_a_modelfile_command(base: Path) -> None:
    text = to_modelfile(CreateSpec(from_="x", quantize="q4_K_M"))
    assert text == "# quantize q4_K_M (ollama create --quantize)\nFROM x\n"
    assert parse(text, base) == CreateSpec(from_="x")


# ---- the create request -----------------------------------------------------------------


def test_create_request_for_a_registry_base() -> None:
    spec = CreateSpec(
        from_="llama3.2",
        system="Be brief.",
        template="",
        parameters={"temperature": 0.123456789, "stop": ["a", "b"], "num_ctx": 8},
        messages=(("user", "hi"), ("assistant", "hello")),
        license=("MIT",),
    )
    assert create_request(spec, "brief") == {
        "model": "brief",
        "stream": True,
        "from": "llama3.2",
        "license": ["MIT"],
        "system": "Be brief.",
        "parameters": {"temperature": 0.12345679, "stop": ["a", "b"], "num_ctx": 8},
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }


def test_create_request_for_local_files() -> None:
    spec = CreateSpec(
        from_="/m/model.gguf",
        from_is_path=True,
        adapters=("/m/lora.gguf",),
        quantize="q4_K_M",
        requires="0.14.0",
    )
    files = {"model.gguf": "sha256:" + "a" * 64}
    adapters = {"lora.gguf": "sha256:" + "b" * 64}
    assert create_request(spec, "local", files=files, adapters=adapters) == {
        "model": "local",
        "stream": True,
        "quantize": "q4_K_M",
        "files": files,
        "adapters": adapters,
        "requires": "0.14.0",
    }
    with pytest.raises(ValueError):
        create_request(spec, "local", adapters=adapters)
    with pytest.raises(ValueError):
        create_request(CreateSpec(from_="x"), "x", files=files)


# ---- round trip -------------------------------------------------------------------------

TEXT = st.text(
    st.characters(categories=["L", "M", "N", "P", "S"]) | st.sampled_from(' \t\n\r"#:'),
    max_size=24,
)
NAME = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}(:[a-z0-9][a-z0-9._-]{0,7})?", fullmatch=True)
SEMVER = st.from_regex(r"(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9])(-rc\.[1-9])?", fullmatch=True)


def float32_parameter(value: float) -> float:
    """A float as our parser types it (Go's float32), so specs are ones a parse can give."""
    text = f"FROM x\nPARAMETER temperature {value!r}\n"
    result: float = parse_modelfile(text, source="t", base_dir=Path("/")).parameters["temperature"]
    return result


PARAMETERS = st.fixed_dictionaries(
    {},
    optional={
        "num_ctx": st.integers(-(2**63), 2**63 - 1),
        "seed": st.integers(-5, 5),
        "temperature": st.floats(width=32, allow_nan=False, allow_infinity=False).map(
            float32_parameter
        ),
        "top_p": st.floats(0, 1).map(float32_parameter),
        "use_mmap": st.booleans(),
        "stop": st.lists(TEXT, min_size=1, max_size=3),
    },
)


@st.composite
def specs(draw: st.DrawFn, model: str, lora: str) -> CreateSpec:
    from_, from_is_path = draw(st.sampled_from([(model, True), (None, False)]))
    return CreateSpec(
        from_=from_ or draw(NAME),
        from_is_path=from_is_path,
        system=draw(st.none() | TEXT.filter(bool)),
        template=draw(st.none() | TEXT.filter(bool)),
        parameters=draw(PARAMETERS),
        messages=tuple(draw(st.lists(st.tuples(st.sampled_from(ROLES), TEXT), max_size=3))),
        adapters=draw(st.sampled_from([(), (lora,)])),
        license=tuple(draw(st.lists(TEXT, max_size=2))),
        requires=draw(st.none() | SEMVER),
    )


@pytest.fixture(scope="module")
def round_trip_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An empty folder to parse in (no model name can be a file there) and one with weights."""
    weights = tmp_path_factory.mktemp("weights")
    (weights / "model.gguf").write_bytes(b"GGUF")
    (weights / "lora.gguf").write_bytes(b"GGUF")
    return tmp_path_factory.mktemp("empty"), weights


@settings(max_examples=300)
@given(data=st.data())
def test_round_trip(data: st.DataObject, round_trip_dirs: tuple[Path, Path]) -> None:
    empty, weights = round_trip_dirs
    spec = data.draw(specs(str(weights / "model.gguf"), str(weights / "lora.gguf")))
    try:
        text = to_modelfile(spec)
    except ValueError:
        assume('"""' not in repr(spec))  # the one documented limit; anything else fails
        raise
    assert parse_modelfile(text, source="rt", base_dir=empty) == spec


def test_round_trip_keeps_json_types(base: Path) -> None:
    spec = parse("FROM x\nPARAMETER num_ctx 8\nPARAMETER temperature 1\n", base)
    values: dict[str, Any] = dict(parse(to_modelfile(spec), base).parameters)
    assert values == {"num_ctx": 8, "temperature": 1.0}
    assert [type(v) for v in values.values()] == [int, float]
