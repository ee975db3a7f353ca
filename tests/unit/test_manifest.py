"""The manifest loader: valid manifests give a typed Manifest, invalid ones every
problem as one exact line, `file:line:col: message`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.errors import ManifestError
from provisioner.manifest.load import load_manifest
from provisioner.names import parse_name
from provisioner.types.manifest import CreateSpec, Manifest, ModelSpec

REPO = Path(__file__).resolve().parents[2]
ENV = {"SET": "value", "EMPTY": "", "TOKEN": "s3cret-token", "WARM": "true"}
HEX = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a Modelfile, a GGUF file and an adapter; the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelfiles").mkdir()
    (tmp_path / "modelfiles" / "bot.Modelfile").write_text(
        "FROM llama3.2\nSYSTEM Be kind.\nPARAMETER temperature 0.5\n"
    )
    (tmp_path / "modelfiles" / "typo.Modelfile").write_text(
        "FROM llama3.2\nPARAMETER temprature 0.5\n"
    )
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    (tmp_path / "lora.gguf").write_bytes(b"GGUF")
    return tmp_path


def load(text: str, env: dict[str, str] | None = None) -> Manifest:
    Path("m.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_manifest("m.yaml", env=ENV if env is None else env)


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    try:
        load(text, env)
    except ManifestError as e:
        return [str(p) for p in e.problems]
    return []


def model(text: str) -> ModelSpec:
    """The only model of a manifest whose `models:` list is text."""
    return load("version: 1\nmodels:\n" + textwrap.indent(textwrap.dedent(text), "  ")).models[0]


# ---- invalid manifests: the exact lines --------------------------------------------

INVALID = [
    (
        "unknown key, did you mean",
        """\
        version: 1
        models:
          - name: llama3.2
            warn: true
        """,
        ["m.yaml:4:5: unknown key 'warn' in model 'llama3.2' (did you mean 'warm'?)"],
    ),
    (
        "unknown top-level key and the missing one",
        """\
        version: 1
        modles: []
        """,
        [
            "m.yaml:1:1: missing key 'models' at the top level; add it, "
            "e.g. models: [{name: llama3.2}]",
            "m.yaml:2:1: unknown key 'modles' at the top level (did you mean 'models'?)",
        ],
    ),
    (
        "a key in the wrong place",
        """\
        version: 1
        models:
          - name: a
            timeout: 30s
        """,
        ["m.yaml:4:5: unknown key 'timeout' in model 'a' ('timeout' belongs in 'server')"],
    ),
    (
        "a model key as a default",
        """\
        version: 1
        defaults: {digest: x}
        models: []
        """,
        [
            "m.yaml:2:12: unknown key 'digest' in 'defaults'; 'digest' cannot be a default, "
            "set it on each model"
        ],
    ),
    (
        "missing version",
        "models: []\n",
        ["m.yaml:1:1: missing key 'version' at the top level; add it, e.g. version: 1"],
    ),
    (
        "another version",
        "version: 2\nmodels: []\n",
        ["m.yaml:1:10: 'version' must be 1; this is the only manifest format this tool reads"],
    ),
    (
        "names Ollama rejects",
        """\
        version: 1
        models:
          - name: "foo:"
          - name: localhost:5000/m
          - name: a/b/c/d
          - name: ""
        """,
        [
            "m.yaml:3:11: invalid model name 'foo:': the tag is empty; "
            "write [host/][namespace/]model[:tag], e.g. llama3.2 or qwen2.5-coder:7b",
            "m.yaml:4:11: invalid model name 'localhost:5000/m': a host needs a namespace too "
            "(host:port/namespace/model); write [host/][namespace/]model[:tag], "
            "e.g. llama3.2 or qwen2.5-coder:7b",
            "m.yaml:5:11: invalid model name 'a/b/c/d': too many '/' separators "
            "(at most host/namespace/model:tag); write [host/][namespace/]model[:tag], "
            "e.g. llama3.2 or qwen2.5-coder:7b",
            "m.yaml:6:11: 'name' in models[3] is empty",
        ],
    ),
    (
        "entries that are not models",
        """\
        version: 1
        models:
          - {}
          -
          - name: 5
        """,
        [
            "m.yaml:3:5: missing key 'name' in models[0]; add it, e.g. name: llama3.2",
            "m.yaml:4:4: models[1] must be a mapping, not empty",
            "m.yaml:5:11: 'name' in models[2] must be text, not 5; e.g. name: llama3.2",
        ],
    ),
    (
        "duplicates after normalization",
        """\
        version: 1
        models:
          - name: llama3.2
          - name: LLAMA3.2:latest
          - name: registry.ollama.ai/library/llama3.2:latest
        """,
        [
            "m.yaml:4:11: model 'LLAMA3.2:latest' is already declared at line 3 as 'llama3.2'; "
            "declare each model once",
            "m.yaml:5:11: model 'registry.ollama.ai/library/llama3.2:latest' is already declared "
            "at line 3 as 'llama3.2'; declare each model once",
        ],
    ),
    (
        "aliases that collide",
        """\
        version: 1
        models:
          - name: llama3.2
          - name: qwen
            aliases: [llama3.2:latest, qwen, coder, coder:latest]
          - name: other
            aliases: [Coder]
        """,
        [
            "m.yaml:5:15: alias 'llama3.2:latest' is also declared as a model at line 3 "
            "as 'llama3.2'; rename the alias or remove the model",
            "m.yaml:5:32: alias 'qwen' is the model's own name; remove it",
            "m.yaml:5:45: alias 'coder:latest' is already an alias of model 'qwen' at line 5; "
            "use each alias once",
            "m.yaml:7:15: alias 'Coder' is already an alias of model 'qwen' at line 5; "
            "use each alias once",
        ],
    ),
    (
        "malformed digests",
        """\
        version: 1
        models:
          - name: a
            digest: sha256:0123
          - name: b
            digest: a80c4f17acd5
        """,
        [
            "m.yaml:4:13: 'digest' in model 'a' must be sha256: followed by all 64 hex digits "
            "(from /api/tags; `ollama list` shows only 12)",
            "m.yaml:6:13: 'digest' in model 'b' must be sha256: followed by all 64 hex digits "
            "(from /api/tags; `ollama list` shows only 12)",
        ],
    ),
    (
        "durations Ollama would refuse",
        """\
        version: 1
        server: {timeout: -1}
        defaults: {keep_alive: 5M}
        models:
          - name: a
            keep_alive: "300"
          - name: b
            keep_alive: 1h30
          - name: c
            keep_alive: .inf
        """,
        [
            "m.yaml:2:19: invalid 'timeout' in 'server': must be more than zero, e.g. 30s or 5m "
            "(there is no 'forever')",
            "m.yaml:3:24: invalid 'keep_alive' in 'defaults': unknown unit 'M' in '5M'; "
            "use ns, us, ms, s, m or h, e.g. 30s or 1h30m",
            "m.yaml:6:17: invalid 'keep_alive' in model 'a': '300' has no unit; write 300s, "
            "or a number without quotes",
            "m.yaml:8:17: invalid 'keep_alive' in model 'b': '1h30' is missing a unit after '30'; "
            "use ns, us, ms, s, m or h, e.g. 30s or 1h30m",
            "m.yaml:10:17: 'keep_alive' in model 'c' must be a finite number",
        ],
    ),
    (
        "wrong types and values, with the value shown",
        """\
        version: 1
        models:
          - name: a
            warm: yes
            pull: if_missing
            state: gone
            aliases: coder
        """,
        [
            "m.yaml:4:11: 'warm' in model 'a' must be true or false, not 'yes'; e.g. warm: true",
            "m.yaml:5:11: 'pull' in model 'a' must be if-missing or always, not 'if_missing' "
            "(did you mean 'if-missing'?)",
            "m.yaml:6:12: 'state' in model 'a' must be present or absent, not 'gone'",
            "m.yaml:7:14: 'aliases' in model 'a' must be a list, not 'coder'; "
            "e.g. aliases: [coder, team/coder:stable]",
        ],
    ),
    (
        "a model defined two ways",
        """\
        version: 1
        models:
          - name: a
            modelfile: FROM llama3.2
            from: llama3.2
            system: hi
        """,
        [
            "m.yaml:5:5: 'from' cannot be used with 'modelfile' in model 'a'; "
            "define a model in one way only",
            "m.yaml:6:5: 'system' cannot be used with 'modelfile' in model 'a'; "
            "write SYSTEM in the Modelfile instead",
        ],
    ),
    (
        "custom-model keys without a base",
        """\
        version: 1
        models:
          - name: a
            system: hi
            digest: sha256:HEX
        """.replace("HEX", HEX),
        [
            "m.yaml:4:5: 'system' needs 'from' in model 'a'; add the base model, "
            "e.g. from: llama3.2, or use 'modelfile'"
        ],
    ),
    (
        "a pin on a custom model",
        """\
        version: 1
        models:
          - name: a
            from: llama3.2
            digest: sha256:HEX
        """.replace("HEX", HEX),
        [
            "m.yaml:5:5: 'digest' pins a registry model and cannot be used with 'from' "
            "in model 'a'; remove it"
        ],
    ),
    (
        "state absent with other keys",
        """\
        version: 1
        models:
          - name: old
            state: absent
            warm: true
        """,
        [
            "m.yaml:5:5: 'warm' cannot be used with 'state: absent' in model 'old'; "
            "remove it (the model is deleted)"
        ],
    ),
    (
        "bases that are neither files nor names",
        """\
        version: 1
        models:
          - name: a
            from: ./nope.gguf
          - name: b
            from: my base
          - name: c
            modelfile: FROM my base
        """,
        [
            "m.yaml:4:11: 'from' path './nope.gguf' does not exist (looked for {dir}/nope.gguf); "
            "fix the path (relative to the manifest's folder), or name a model without ./ / ~",
            "m.yaml:6:11: base 'my base' is neither a model name (invalid model 'my base') "
            "nor an existing file; fix 'from'",
            # the Modelfile's own position: the FROM value inside the inline text
            "m.yaml:8:21: base 'my base' is neither a model name (invalid model 'my base') "
            "nor an existing file; fix FROM",
        ],
    ),
    (
        "files that do not exist",
        """\
        version: 1
        models:
          - name: a
            modelfile_path: modelfiles/nope.Modelfile
          - name: b
            modelfile_path: modelfiles
          - name: c
            from: llama3.2
            adapters: [lora.gguf, missing.gguf]
        """,
        [
            "m.yaml:4:21: Modelfile 'modelfiles/nope.Modelfile' not found "
            "(looked for {dir}/modelfiles/nope.Modelfile); "
            "fix 'modelfile_path' (relative to the manifest's folder)",
            "m.yaml:6:21: 'modelfiles' is a folder; point 'modelfile_path' at the Modelfile in it",
            "m.yaml:9:27: adapter 'missing.gguf' does not exist (looked for {dir}/missing.gguf); "
            "fix the path (relative to the manifest's folder)",
        ],
    ),
    (
        "dependency cycles",
        """\
        version: 1
        models:
          - name: a
            from: b
          - name: b
            modelfile: FROM a
          - name: c
            from: c:latest
        """,
        [
            "m.yaml:4:11: models 'a' -> 'b' -> 'a' are built from each other; break the cycle",
            "m.yaml:8:11: model 'c' is built from itself; give it another name or base",
        ],
    ),
    (
        "a base the manifest deletes",
        """\
        version: 1
        models:
          - name: a
            from: old
          - name: old
            state: absent
        """,
        [
            "m.yaml:4:11: base 'old' is declared 'state: absent' at line 5; "
            "keep it, since 'a' is built from it"
        ],
    ),
    (
        "parameters",
        """\
        version: 1
        models:
          - name: a
            from: llama3.2
            parameters:
              temprature: 0.3
              num_ctx: 8k
              top_k: 1.5
              stop: 5
              temperature: 1e39
        """,
        [
            "m.yaml:6:7: unknown key 'temprature' in 'parameters' of model 'a' "
            "(did you mean 'temperature'?)",
            "m.yaml:7:16: 'num_ctx' in 'parameters' of model 'a' must be a whole number, "
            "not '8k'; e.g. num_ctx: 8192",
            "m.yaml:8:14: 'top_k' in 'parameters' of model 'a' must be a whole number, not 1.5; "
            "e.g. top_k: 40",
            "m.yaml:9:13: 'stop' in 'parameters' of model 'a' must be text or a list, not 5; "
            'e.g. stop: ["</s>", "<|eot_id|>"]',
        ],
    ),
    (
        "a parameter beyond float32",
        """\
        version: 1
        models:
          - name: a
            from: llama3.2
            parameters: {temperature: 1e39}
        """,
        [
            "m.yaml:5:31: parameter 'temperature' must be a number within the float32 "
            "range (about ±3.4e38)"
        ],
    ),
    (
        "messages and quantize",
        """\
        version: 1
        models:
          - name: a
            from: llama3.2
            quantize: q9
            messages:
              - role: bot
                content: hi
              - {role: user}
        """,
        [
            "m.yaml:5:15: 'quantize' in model 'a' must be one of F32, F16, Q8_0, Q4_K_S, Q4_K_M",
            "m.yaml:7:15: 'role' in 'messages[0]' of model 'a' must be system, user or "
            "assistant, not 'bot'",
            "m.yaml:9:9: missing key 'content' in 'messages[1]' of model 'a'; add it, "
            "e.g. content: Hello",
        ],
    ),
    (
        "server settings; header values are never shown",
        """\
        version: 1
        server:
          host: ftp://example.com
          headers:
            Bad Header: x
            X-Number: 12345
            X-Broken: "line\\nbreak"
        models: []
        """,
        [
            "m.yaml:3:9: 'host' in 'server' must use http:// or https://, not ftp://",
            "m.yaml:5:5: 'Bad Header' is not a valid HTTP header name; use letters, digits and '-'",
            "m.yaml:6:15: 'X-Number' in 'server.headers' must be text, not a number; "
            "quote the value",
            "m.yaml:7:5: the value of header 'X-Broken' contains a line break; remove it",
        ],
    ),
    (
        "environment variables",
        """\
        version: 1
        server:
          headers: {Authorization: "Bearer ${UNSET_TOKEN}"}
        models:
          - name: ${MODEL}
          - name: ${bad name}
          - name: ${OPEN
        """,
        [
            "m.yaml:3:36: environment variable UNSET_TOKEN is not set; set it, "
            "or write ${UNSET_TOKEN:-default}",
            "m.yaml:5:11: environment variable MODEL is not set; set it, "
            "or write ${MODEL:-default}",
            "m.yaml:6:11: '${bad name}' is not a variable reference; write ${NAME} or "
            "${NAME:-default} ($${ for a literal ${)",
            "m.yaml:7:11: '${' is not closed; write ${NAME} or ${NAME:-default} "
            "($${ for a literal ${)",
        ],
    ),
    (
        "every problem, not only the first",
        """\
        version: 1
        defaults: {warm: 1}
        models:
          - name: a
            warn: true
          - name: "b:"
        prune: {enabled: "no"}
        """,
        [
            "m.yaml:2:18: 'warm' in 'defaults' must be true or false, not 1; e.g. warm: true",
            "m.yaml:5:5: unknown key 'warn' in model 'a' (did you mean 'warm'?)",
            "m.yaml:6:11: invalid model name 'b:': the tag is empty; "
            "write [host/][namespace/]model[:tag], e.g. llama3.2 or qwen2.5-coder:7b",
            "m.yaml:7:18: 'enabled' in 'prune' must be true or false, not 'no'; "
            "e.g. enabled: false",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in INVALID])
def test_invalid_manifest_reports_every_problem_exactly(
    workdir: Path, text: str, expected: list[str]
) -> None:
    assert problems(text) == [line.replace("{dir}", str(workdir)) for line in expected]


NEST = "[" * 100 + "]" * 100
TAB = "a tab is used for indentation; indent with spaces"
EMPTY = "the manifest is empty; start with 'version: 1' and a 'models:' list"
YAML_HAZARDS = [
    ("tab indentation", "version: 1\nmodels:\n\t- name: x\n", f"3:1: {TAB}"),
    ("tab after content", "version: 1\nmodels:\n  - name: x\n\t  warm: true\n", f"4:1: {TAB}"),
    (
        "unclosed quote",
        'version: 1\nmodels:\n  - name: "x\n',
        "3:11: a quoted value is not closed; add the closing quote",
    ),
    (
        "colon in a value",
        "version: 1\nmodels:\n  - name: a: b\n",
        "3:12: unexpected ':' here; quote a value that contains ': ', or check the indentation",
    ),
    (
        "bad indentation",
        "version: 1\nmodels:\n  - name: a\n warm: true\n",
        "4:2: expected 'key: value' here; check the indentation",
    ),
    (
        "unclosed list",
        "version: 1\nmodels: [a\n",
        "3:1: a '[' list is not closed with ']', or needs quotes",
    ),
    (
        "reserved character",
        "version: 1\nmodels:\n  - name: @x\n",
        "3:11: a value cannot start with '@'; put the value in quotes",
    ),
    (
        "control character",
        "version: 1\nmodels:\n  - name: x\x01\n",
        "3:12: character U+0001 is not allowed in YAML; remove it",
    ),
    (
        "duplicate key",
        "version: 1\nmodels:\n  - name: a\n    warm: true\n    warm: false\n",
        "5:5: duplicate key 'warm' (first set at line 4); keep one",
    ),
    (
        "object construction",
        "version: 1\nmodels:\n  - name: !!python/object/apply:os.system [ls]\n",
        "3:11: unsupported YAML tag '!!python/object/apply:os.system'; remove the tag",
    ),
    (
        "second document",
        "version: 1\nmodels: []\n---\nversion: 1\n",
        "3:1: a second YAML document starts here; a manifest is one document "
        "(remove this '---' or split the file)",
    ),
    ("empty file", "", f"1:1: {EMPTY}"),
    ("only comments", "# nothing yet\n", f"1:1: {EMPTY}"),
    (
        "a list",
        "- name: x\n",
        "1:1: the manifest must be a mapping with keys such as 'version' and 'models', not a list",
    ),
    (
        "a key that is a list",
        "version: 1\n? [a]\n: 1\nmodels: []\n",
        "2:3: a key must be plain text, not a list or a mapping",
    ),
    (
        "recursive alias",
        "version: 1\nmodels: &m [*m]\n",
        "2:13: alias '*m' refers to a node that contains it",
    ),
    ("unknown alias", "version: 1\nmodels: *m\n", "2:9: unknown alias '*m'; define '&m' first"),
    ("nesting bomb", f"version: 1\nmodels: {NEST}\n", "2:72: nested more than 64 levels deep"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in YAML_HAZARDS]
)
def test_yaml_hazards_are_refused_with_a_position(workdir: Path, text: str, expected: str) -> None:
    Path("m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as e:
        load_manifest("m.yaml", env={})
    assert [str(p) for p in e.value.problems] == [f"m.yaml:{expected}"]


def test_alias_expansion_bomb_is_refused(workdir: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    Path("m.yaml").write_text("\n".join(levels) + "\n")
    with pytest.raises(ManifestError) as e:
        load_manifest("m.yaml", env={})
    (problem,) = e.value.problems
    assert str(problem) == (
        "m.yaml:4:45: aliases expand this document too much (more nodes than the file itself); "
        "use fewer nested aliases"
    )


def test_oversized_and_non_utf8_files_are_refused(workdir: Path) -> None:
    Path("big.yaml").write_text("version: 1\n# " + "x" * (4 * 1024 * 1024) + "\n")
    Path("latin1.yaml").write_bytes(b"version: 1\nmodels:\n  - name: caf\xe9\n")
    messages = []
    for file in ("big.yaml", "latin1.yaml", "missing.yaml", "."):
        with pytest.raises(ManifestError) as e:
            load_manifest(file, env={})
        messages += [str(p) for p in e.value.problems]
    assert messages == [
        "big.yaml:1:1: the manifest is larger than 4 MiB; split it, or check it is the right file",
        "latin1.yaml:3:14: the manifest is not valid UTF-8 (byte 0xe9); save it as UTF-8",
        "missing.yaml:1:1: cannot read the manifest: No such file or directory",
        ".:1:1: this is a folder; name the manifest file inside it",
    ]


# ---- Modelfiles: errors point where the text was written ---------------------------


def test_inline_modelfile_errors_point_into_the_manifest(workdir: Path) -> None:
    assert problems(
        """\
        version: 1
        models:
          - name: a
            modelfile: |
              FROM llama3.2

              PARAMETER temprature 0.3
          - name: b
            modelfile: "FROM llama3.2\\nPARAMETR x 1"
          - name: c
            modelfile: modelfiles/bot.Modelfile
        """
    ) == [
        "m.yaml:7:17: unknown parameter 'temprature': did you mean 'temperature'? "
        "(names are case-sensitive)",
        "m.yaml:9:16: unknown command 'PARAMETR': did you mean PARAMETER? "
        "(line 2 of the Modelfile)",
        "m.yaml:11:16: unknown command 'modelfiles/bot.Modelfile': use one of FROM, PARAMETER, "
        "TEMPLATE, SYSTEM, ADAPTER, LICENSE, MESSAGE, REQUIRES; "
        "to read a Modelfile from disk, use 'modelfile_path'",
    ]


def test_modelfile_path_errors_point_into_the_modelfile(workdir: Path) -> None:
    assert problems(
        """\
        version: 1
        models:
          - name: a
            modelfile_path: modelfiles/typo.Modelfile
        """
    ) == [
        "modelfiles/typo.Modelfile:2:11: unknown parameter 'temprature': "
        "did you mean 'temperature'? (names are case-sensitive)"
    ]


def test_modelfile_path_is_relative_to_the_manifest_and_its_paths_to_itself(
    workdir: Path,
) -> None:
    (workdir / "team" / "files").mkdir(parents=True)
    (workdir / "team" / "files" / "w.gguf").write_bytes(b"GGUF")
    (workdir / "team" / "files" / "m.Modelfile").write_text("FROM ./w.gguf\n")
    (workdir / "team" / "m.yaml").write_text(
        "version: 1\nmodels:\n  - name: a\n    modelfile_path: files/m.Modelfile\n"
    )
    spec = load_manifest(workdir / "team" / "m.yaml", env={}).models[0]
    assert spec.create == CreateSpec(from_=str(workdir / "team/files/w.gguf"), from_is_path=True)
    assert spec.base is None


# ---- valid manifests: the typed result ---------------------------------------------


def test_a_full_manifest_loads_typed_and_normalized(workdir: Path) -> None:
    m = load(
        f"""\
        version: 1
        server:
          host: http://gpu-box:11434
          headers: {{Authorization: "Bearer ${{TOKEN}}"}}
          timeout: 1m30s
        defaults: {{warm: true, keep_alive: 10m, insecure: true, pull: always}}
        models:
          - name: Llama3.2
            digest: sha256:{HEX.upper()}
            aliases: [coder, team/coder:v1]
          - name: q
            warm: false
            keep_alive: -1
            insecure: false
            pull: if-missing
          - name: old
            state: absent
        prune: {{enabled: true, keep: ["*-embed*"]}}
        """
    )
    assert m.path == workdir / "m.yaml"
    assert m.version == 1
    assert m.server.host == "http://gpu-box:11434"
    assert m.server.headers == {"Authorization": "Bearer s3cret-token"}
    assert m.server.timeout == 90.0
    llama, q, old = m.models
    # normalized (defaults filled in), compared without case, written as the user wrote it
    assert llama.name.key == parse_name("llama3.2").key
    assert llama.name.display == "Llama3.2:latest"
    assert llama.kind == "registry"
    assert llama.digest == f"sha256:{HEX}"
    assert llama.aliases == (parse_name("coder"), parse_name("team/coder:v1"))
    assert (llama.warm, llama.keep_alive, llama.insecure, llama.pull) == (
        True,
        "10m",
        True,
        "always",
    )
    assert (q.warm, q.keep_alive, q.insecure, q.pull) == (False, -1, False, "if-missing")
    assert old.kind == "absent" and old.warm is False
    assert (llama.position.line, llama.position.column) == (8, 5)
    assert m.prune.enabled is True and m.prune.keep == ("*-embed*",)
    assert m.warnings == ()


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("5m", "5m"),
        ("1h30m", "1h30m"),
        ("0", 0),
        ("300", 300),
        ("1.5", "1500ms"),
        ("-1", -1),
        ("-5m", -1),
        ("'-1s'", -1),
        ("250ms", "250ms"),
    ],
)
def test_keep_alive_is_sent_as_ollama_accepts_it(
    workdir: Path, written: str, sent: int | str
) -> None:
    assert model(f"- name: a\n  keep_alive: {written}\n").keep_alive == sent


@pytest.mark.parametrize(
    "digest", [f"sha256:{HEX}", f"sha256-{HEX}", HEX, HEX.upper(), f"sha256:{HEX.upper()}"]
)
def test_digests_are_normalized(workdir: Path, digest: str) -> None:
    assert model(f"- name: a\n  digest: {digest}\n").digest == f"sha256:{HEX}"


def test_structured_model_matches_the_same_modelfile(workdir: Path) -> None:
    m = load(
        """\
        version: 1
        models:
          - name: structured
            from: llama3.2
            system: Be kind.
            template: "{{ .Prompt }}"
            parameters: {temperature: 0.1, num_ctx: 4096, stop: "</s>", use_mmap: false, seed: 4}
            messages: [{role: user, content: hi}, {role: assistant, content: "hello: there"}]
            license: MIT
            quantize: q4_k_m
          - name: modelfile
            quantize: Q4_K_M
            modelfile: |
              FROM llama3.2
              SYSTEM Be kind.
              TEMPLATE {{ .Prompt }}
              PARAMETER temperature 0.1
              PARAMETER num_ctx 4096
              PARAMETER stop </s>
              PARAMETER use_mmap false
              PARAMETER seed 4
              MESSAGE user hi
              MESSAGE assistant hello: there
              LICENSE MIT
        """
    )
    structured, modelfile = m.models
    assert structured.create == modelfile.create
    assert structured.create is not None
    assert dict(structured.create.parameters) == {
        "temperature": 0.1,
        "num_ctx": 4096,
        "stop": ["</s>"],
        "use_mmap": False,
        "seed": 4,
    }
    assert structured.create.quantize == "Q4_K_M"
    assert structured.base == modelfile.base == parse_name("llama3.2")


def test_from_paths_resolve_from_the_manifest(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(workdir))
    m = load(
        """\
        version: 1
        models:
          - name: a
            from: ./tiny.gguf
            adapters: [lora.gguf]
          - name: b
            from: tiny.gguf
          - name: c
            from: ~/tiny.gguf
        """
    )
    gguf = str(workdir / "tiny.gguf")
    for spec in m.models:
        assert spec.create is not None
        assert (spec.create.from_, spec.create.from_is_path, spec.base) == (gguf, True, None)
    assert m.models[0].create is not None
    assert m.models[0].create.adapters == (str(workdir / "lora.gguf"),)


def test_environment_values_are_typed_but_never_parsed_as_yaml(workdir: Path) -> None:
    env = {"WARM": "true", "KA": "-1", "NAME": "x\n  warm: true", "EMPTY": ""}
    m = load(
        """\
        version: 1
        x-base: &base {insecure: true}
        models:
          - name: a
            <<: *base
            warm: ${WARM}
            keep_alive: ${KA}
            system: "${NAME}"
            from: llama3.2
          - name: b
          - name: ${EMPTY:-c}
        """,
        env,
    )
    a, _, c = m.models
    assert (a.warm, a.keep_alive, a.insecure) == (True, -1, True)
    assert a.create is not None and a.create.system == "x\n  warm: true"
    assert c.name == parse_name("c")
    assert problems('version: 1\nmodels:\n  - name: c\n    warm: "${WARM}"\n', env) == [
        "m.yaml:4:11: 'warm' in model 'c' must be true or false, not 'true'; e.g. warm: true"
    ]
    literal = load("version: 1\nmodels:\n  - name: a\n    from: x\n    system: $${X}\n")
    assert literal.models[0].create == CreateSpec(from_="x", system="${X}")


def test_yaml_12_scalars(workdir: Path) -> None:
    """yes/no/on/off are text, as for the YAML language server (YAML 1.2 core schema)."""
    m = load("version: 1\nmodels:\n  - name: no\n  - name: on\n  - name: '1e3'\n")
    assert [s.name.model for s in m.models] == ["no", "on", "1e3"]


def test_warnings_do_not_fail(workdir: Path) -> None:
    m = load(
        """\
        version: 1
        models:
          - name: gpt-oss:120b-cloud
          - name: a
            from: llama3.2
            parameters: {mirostat: 1}
        """
    )
    assert [str(w) for w in m.warnings] == [
        "m.yaml:3:11: tag '120b-cloud' is read by newer Ollama as a source selector; "
        "choose another tag",
        "m.yaml:6:18: parameter 'mirostat' is deprecated and Ollama ignores it; remove it",
    ]
    assert m.models[1].create is not None and m.models[1].create.parameters == {}


# ---- the examples and the validate command -----------------------------------------


@pytest.mark.parametrize("name", ["minimal.yaml", "team.yaml", "ci.yaml"])
def test_examples_are_valid(name: str) -> None:
    result = CliRunner().invoke(cli, ["validate", str(REPO / "examples" / name)], env={})
    assert result.exit_code == 0, result.output
    assert load_manifest(REPO / "examples" / name, env={}).warnings == ()


def test_validate_text_output(workdir: Path) -> None:
    Path("good.yaml").write_text("version: 1\nmodels: [{name: a}]\n")
    Path("bad.yaml").write_text("version: 1\nmodels:\n  - name: a\n    warn: true\n")
    result = CliRunner().invoke(cli, ["validate", "good.yaml", "bad.yaml"])
    assert result.exit_code == 2
    assert result.stdout == "good.yaml: valid\n"
    assert result.stderr == (
        "bad.yaml:4:5: unknown key 'warn' in model 'a' (did you mean 'warm'?)\n"
        "bad.yaml: invalid (1 problem)\n"
    )


def test_validate_json_output(workdir: Path) -> None:
    Path("bad.yaml").write_text(
        "version: 1\nserver:\n  headers: {X-Token: 5}\nmodels:\n  - name: a\n    warn: true\n"
    )
    result = CliRunner().invoke(cli, ["--output", "json", "validate", "bad.yaml"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "kind": "validate",
        "format_version": 1,
        "valid": False,
        "files": [
            {
                "file": "bad.yaml",
                "valid": False,
                "warnings": [],
                "errors": [
                    {
                        "file": "bad.yaml",
                        "path": "/server/headers/X-Token",
                        "line": 3,
                        "column": 22,
                        "message": "'X-Token' in 'server.headers' must be text, not a number; "
                        "quote the value",
                    },
                    {
                        "file": "bad.yaml",
                        "path": "/models/0/warn",
                        "line": 6,
                        "column": 5,
                        "message": "unknown key 'warn' in model 'a' (did you mean 'warm'?)",
                    },
                ],
            }
        ],
    }


def test_header_values_are_never_printed(workdir: Path) -> None:
    Path("m.yaml").write_text(
        "version: 1\nserver:\n  headers:\n    A: ${TOKEN}\n    B: [${TOKEN}]\n"
        "    C: 'x${TOKEN}\\n'\n    D: {k: s3cret-token}\nmodels: []\n"
    )
    for output in ("text", "json"):
        result = CliRunner().invoke(cli, ["-o", output, "validate", "m.yaml"], env=ENV)
        assert result.exit_code == 2
        assert "s3cret" not in result.output


# ---- the schema ----------------------------------------------------------------------


def _properties(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            found.append((f"{path}/{name}", sub))
        for key, sub in schema.items():
            found += _properties(sub, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            found += _properties(sub, f"{path}/{i}")
    return found


def test_schema_documents_every_property() -> None:
    schema = json.loads((REPO / "schemas" / "manifest.schema.json").read_text())
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    undocumented = []
    for path, sub in _properties(schema):
        if "/allOf/" in path or "/dependentSchemas/" in path or "not" in sub:
            continue  # rules about keys, not the keys themselves
        target = schema["$defs"][sub["$ref"].rsplit("/", 1)[1]] if "$ref" in sub else sub
        if not target.get("description") or not target.get("examples"):
            undocumented.append(path)
    assert undocumented == []
    model_keys = set(schema["$defs"]["model"]["properties"])
    assert model_keys == {
        "name", "digest", "pull", "insecure", "warm", "keep_alive", "aliases", "selector",
        "state", "modelfile", "modelfile_path", "from", "system", "template", "parameters",
        "messages", "adapters", "license", "quantize",
    }  # fmt: skip


def test_schema_is_read_from_the_source_checkout() -> None:
    from provisioner.manifest.schema import manifest_schema

    on_disk = json.loads((REPO / "schemas" / "manifest.schema.json").read_text())
    assert manifest_schema() == on_disk


def test_schema_is_read_from_the_installed_package_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provisioner.manifest import schema as module

    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "manifest.schema.json").write_text('{"title": "packaged"}')
    monkeypatch.setattr("importlib.resources.files", lambda package: tmp_path)
    module.manifest_schema.cache_clear()
    try:
        assert module.manifest_schema() == {"title": "packaged"}
    finally:
        module.manifest_schema.cache_clear()


def test_a_manifest_seen_valid_before_does_not_load_jsonschema(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n  - name: tiny\n")
    code = (
        "import sys; from provisioner.manifest.load import load_manifest;"
        f"load_manifest({str(path)!r}); print('jsonschema' in sys.modules)"
    )
    env = {**os.environ, "OLLAMA_PROVISION_CACHE": str(tmp_path / "cache")}

    def jsonschema_loaded() -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        return done.stdout.strip() + done.stderr

    assert jsonschema_loaded() == "True"  # first time: validated
    assert jsonschema_loaded() == "False"  # same content: remembered as valid
    path.write_text("version: 1\nmodels:\n  - name: tiny\n    warm: true\n")
    assert jsonschema_loaded() == "True"  # changed: validated again
