"""Property tests: `validate` never shows a traceback, whatever the file holds.

Three sources of input: random text and random YAML documents; valid
manifests mutated at random (keys dropped, added or misspelt, values of the
wrong kind, interesting strings such as ${VAR}, paths and names); and
character-level edits of valid YAML (tabs, quotes, colons, anchors...).
Every case runs `ollama-provision validate FILE` through click's CliRunner
and must exit 0 or 2, with one line per problem and no header value printed.

The default suite runs a few hundred cases (CASES per property; the variable
MANIFEST_PROPERTY_CASES changes it); tests/fuzz_manifest.py runs 10,000+.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import secrets
from provisioner.cli import cli

CASES = int(os.environ.get("MANIFEST_PROPERTY_CASES", "120"))
SECRET = "S3cr3t-hdr"  # the value of a header in every base manifest: must never be printed
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_WORKDIR = Path(tempfile.mkdtemp(prefix="manifest-props-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)
shutil.copytree(EXAMPLES / "modelfiles", _WORKDIR / "modelfiles")
(_WORKDIR / "tiny.gguf").write_bytes(b"GGUF")
ENV = {"OLLAMA_TOKEN": SECRET, "SET": "value", "EMPTY": ""}
counter = {"cases": 0}

BASE: dict[str, Any] = {
    "version": 1,
    "server": {
        "host": "http://localhost:11434",
        "headers": {"Authorization": "Bearer ${OLLAMA_TOKEN}", "X-Plain": SECRET},
        "timeout": "30s",
    },
    "defaults": {"warm": False, "keep_alive": "5m", "insecure": False, "pull": "if-missing"},
    "models": [
        {"name": "llama3.2"},
        {"name": "qwen2.5-coder:7b", "warm": True, "keep_alive": "30m", "aliases": ["coder"]},
        {"name": "pinned", "digest": "sha256:" + "ab" * 32, "pull": "always"},
        {"name": "127.0.0.1:5000/team/tiny:v2", "insecure": True},
        {"name": "concise", "modelfile": "FROM llama3.2\nSYSTEM Be brief.\nPARAMETER top_k 4\n"},
        {"name": "support", "modelfile_path": "modelfiles/support.Modelfile"},
        {
            "name": "json",
            "from": "qwen2.5-coder:7b",
            "system": "JSON only.",
            "template": "{{ .Prompt }}",
            "parameters": {"temperature": 0, "num_ctx": 8192, "stop": ["</s>"], "use_mmap": True},
            "messages": [{"role": "user", "content": "hi"}],
            "license": "MIT",
            "quantize": "q4_k_m",
        },
        {"name": "local", "from": "./tiny.gguf", "adapters": ["./tiny.gguf"]},
        {"name": "old:latest", "state": "absent"},
    ],
    "prune": {"enabled": False, "keep": ["*-embed*"]},
}

KEYS = sorted(
    {"version", "server", "defaults", "models", "prune", "host", "headers", "timeout"}
    | {"name", "digest", "pull", "insecure", "warm", "keep_alive", "aliases", "state"}
    | {"modelfile", "modelfile_path", "from", "system", "template", "parameters"}
    | {"messages", "adapters", "license", "quantize", "enabled", "keep", "role", "content"}
    | {"num_ctx", "temperature", "stop", "seed", "mirostat", "<<", "x-anchor", "warn", "nmae"}
)
STRINGS = [
    "${SET}", "${UNSET}", "${SET:-5m}", "${EMPTY:-true}", "$${SET}", "${", "${1x}",
    "5m", "-1", "1h30m", "5M", "300", "0", "sha256:" + "0" * 64, "sha256:abc", "A" * 64,
    "llama3.2", "llama3.2:latest", "LLAMA3.2", "a:b:c", "host:5000/m", "x/y/z/w", "foo:",
    "./tiny.gguf", "./missing.gguf", "../", "~", "~nobody/x", "/", "modelfiles", "\x00",
    "modelfiles/support.Modelfile", "FROM llama3.2", "FROM ./tiny.gguf\nADAPTER ./nope",
    "FROM x\nPARAMETER temperature abc", 'FROM x\nSYSTEM """open', "absent", "present",
    "always", "if-missing", "q4_k_m", "user", "bot", "", " ", "\t", "é", "null", "yes",
    "http://h", "ftp://h", "line\nbreak", "*-embed*",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(STRINGS)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def run_validate(text: str | bytes, *args: str, secret: bool = False) -> Any:
    """validate one file; assert the invariants every input must keep.

    secret: the input keeps SECRET in header values only, so it must not be printed.
    """
    counter["cases"] += 1
    secrets.clear()  # each case is a CLI run of its own: a mutated value of an earlier
    # case (a header value "manifest") must not mask this one's output
    path = _WORKDIR / "manifest.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(cli, [*args, "validate", str(path)], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if secret:
        assert SECRET not in result.output
    return result


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a mapping or list inside value."""
    found = []
    if isinstance(value, dict):
        found.append(prefix)
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        found.append(prefix)
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def mutate(data: st.DataObject, document: Any) -> Any:
    """Apply one to three random edits to a copy of document."""
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        paths = _paths(document)
        if not paths:
            return document
        target = _get(document, data.draw(st.sampled_from(paths), label="at"))
        op = data.draw(st.sampled_from(["drop", "set", "add", "dup"]), label="op")
        if isinstance(target, dict):
            keys = list(target)
            if op == "drop" and keys:
                del target[data.draw(st.sampled_from(keys))]
            elif op == "set" and keys:
                target[data.draw(st.sampled_from(keys))] = data.draw(values)
            else:
                target[data.draw(st.sampled_from(KEYS) | st.text(max_size=6))] = data.draw(values)
        elif isinstance(target, list):
            if op == "drop" and target:
                target.pop(data.draw(st.integers(0, len(target) - 1)))
            elif op == "dup" and target:
                target.append(json.loads(json.dumps(data.draw(st.sampled_from(target)))))
            elif op == "set" and target:
                target[data.draw(st.integers(0, len(target) - 1))] = data.draw(values)
            else:
                target.append(data.draw(values))
    return document


EDITS = [
    *(":", ": ", "-", "- ", "\t", "'", '"', "&a ", "*a", "!!python/object ", "{", "[", "]"),
    *("#", "\n", "  ", "%", "@", "`", "|", ">", "? ", "---\n", "${", "<<: *a\n", "\ufeff"),
]


def edit_text(data: st.DataObject, text: str) -> str:
    """Character-level edits: inserted YAML punctuation, deleted or repeated spans."""
    for _ in range(data.draw(st.integers(1, 3), label="text edits")):
        at = data.draw(st.integers(0, len(text)), label="offset")
        op = data.draw(st.sampled_from(["insert", "delete", "repeat"]))
        if op == "insert":
            text = text[:at] + data.draw(st.sampled_from(EDITS) | st.text(max_size=3)) + text[at:]
        else:
            end = min(len(text), at + data.draw(st.integers(1, 40)))
            text = text[:at] + (text[at:end] * 2 if op == "repeat" else "") + text[end:]
    return text


def dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


_SETTINGS = settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_base_manifest_is_valid() -> None:
    assert run_validate(dump(BASE), secret=True).exit_code == 0


@_SETTINGS
@given(st.text(max_size=300) | st.binary(max_size=300) | values.map(dump))
def test_random_input_never_crashes(text: str | bytes) -> None:
    run_validate(text)


@_SETTINGS
@given(st.data())
def test_mutated_manifests_exit_0_or_2(data: st.DataObject) -> None:
    document = mutate(data, BASE)
    output = data.draw(st.sampled_from(["text", "json"]), label="output")
    result = run_validate(dump(document), "--output", output, secret=True)
    if output == "json":
        report = json.loads(result.stdout)
        assert report["valid"] == (result.exit_code == 0)
        for error in report["files"][0]["errors"]:
            assert set(error) == {"file", "path", "line", "column", "message"}
            assert error["line"] >= 1 and error["column"] >= 1
            assert "\n" not in error["message"]
    else:  # one line per problem, each starting with the file, then the summary
        for line in result.stderr.split("\n")[:-1]:
            assert line.startswith(str(_WORKDIR / "manifest.yaml")), line


@_SETTINGS
@given(st.data())
def test_edited_yaml_text_exit_0_or_2(data: st.DataObject) -> None:
    run_validate(edit_text(data, dump(mutate(data, BASE))))
