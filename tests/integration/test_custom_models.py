"""Custom models against real servers: parity with `ollama create -f`, idempotence, drift.

- Parity: every Modelfile below is applied by this tool (one apply, all of
  them) and created by the same build's own `ollama create -f`; both models
  must have the same digest in /api/tags (the hash of the manifest Ollama
  wrote). v0.11.4 runs all of them. The newest build (v0.34.4), built from the Go
  module proxy without its native payload, creates from GGUF files too, but
  refuses LoRA adapters ("LoRA adapters are no longer supported") and
  create-time quantization of a GGUF: there those cases must fail the same
  way for this tool and for the CLI.
- Re-applying unchanged custom models sends no create and no blob request,
  and hashes nothing again (every local file is a hash-cache hit).
- Each single-field change of a declaration is one `definition-changed`
  drift of that model only, and one create fixes it.
- Modelfile errors are one line each: file:line:column: message.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

import provisioner
from provisioner.custom.hash_cache import HashCache, sha256_file
from provisioner.manifest.load import load_manifest
from provisioner.reconcile.observe import observe_server
from provisioner.reconcile.plan import make_plan
from provisioner.server.client import Client
from tests.integration.cli_runner import Run, run_cli
from tests.testbed.build import PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer
from tests.testbed.tiny_models import (
    write_completion_model,
    write_f16_model,
    write_lora_adapter,
)

BASE = "{base}"  # replaced by the registry model every FROM-a-model Modelfile uses


@dataclass(frozen=True)
class Case:
    """One Modelfile of the parity set."""

    name: str
    text: str
    gguf: bool = False  # FROM a local GGUF file (v0.11.4 only, see the docstring)
    quantize: str | None = None  # `quantize:` here, `--quantize` for the CLI
    reference: str | None = None  # what the CLI gets instead, when it differs (see REQUIRES)


TEMPLATE = '''TEMPLATE """{{- if .System }}<|system|>
{{ .System }}</s>
{{ end }}<|user|>
{{ .Prompt }}</s>
<|assistant|>
"""'''

CASES = (
    Case("from-model", f"FROM {BASE}\nSYSTEM You are terse.\n"),
    Case("gguf", "FROM ./tiny.gguf\n", gguf=True),
    Case(
        "gguf-everything",
        "# every command on a local GGUF\n"
        "FROM ./tiny.gguf\n"
        f"{TEMPLATE}\n"
        'SYSTEM """You answer\nin two lines."""\n'
        "PARAMETER stop <|user|>\n"
        'PARAMETER stop "<|system|>"\n'
        "PARAMETER stop </s>\n"
        "PARAMETER temperature 0.2\n"
        "PARAMETER num_ctx 128\n"
        "MESSAGE user Hi\n"
        "MESSAGE assistant Hello.\n"
        'LICENSE """MIT\n\nPermission is hereby granted."""\n',
        gguf=True,
    ),
    Case("adapter", "FROM ./tiny.gguf\nADAPTER ./lora.gguf\n", gguf=True),
    Case("adapter-on-model", f"FROM {BASE}\nADAPTER ./lora.gguf\nSYSTEM tuned\n"),
    Case("quantize", "FROM ./f16.gguf\n", gguf=True, quantize="q8_0"),
    Case(
        "template-and-stops",
        f"FROM {BASE}\n{TEMPLATE}\n"
        'PARAMETER stop "<|user|>"\nPARAMETER stop "<|assistant|>"\nPARAMETER stop "</s>"\n',
    ),
    Case(
        "messages",
        f"FROM {BASE}\n"
        "MESSAGE system You are a pirate.\n"
        "MESSAGE user Where is the treasure?\n"
        'MESSAGE assistant """Arr,\nunder the palm."""\n'
        "MESSAGE user And the map?\n"
        "MESSAGE assistant Burnt: ask the parrot.\n",
    ),
    Case(
        "licenses",
        f'FROM {BASE}\nLICENSE """Apache License 2.0\n\n  indented line"""\nLICENSE "CC-BY-4.0"\n',
    ),
    Case(
        "typed-parameters",
        f"FROM {BASE}\n"
        "PARAMETER num_ctx 512\nPARAMETER temperature 0.7\nPARAMETER top_k 20\n"
        "PARAMETER top_p 0.9\nPARAMETER min_p 0.05\nPARAMETER repeat_penalty 1.1\n"
        "PARAMETER repeat_last_n 64\nPARAMETER seed 42\nPARAMETER num_predict -1\n"
        "PARAMETER use_mmap false\nPARAMETER temperature 0.3\n",
    ),
    Case(
        "quoting-forms",
        # lower-case commands, a comment, a literal # inside a value, an empty quoted
        # SYSTEM (not set), surrounding blanks, and a one-line triple-quoted value
        f"from {BASE}\n"
        "# a comment line\n"
        'system ""\n'
        "parameter stop    ###\n"
        'Parameter stop "  spaced  "\n'
        'template """{{ .Prompt }} # not a comment"""\n'
        "SYSTEM   trailing blanks are trimmed   \n",
    ),
    Case("crlf-and-bom", f'\ufeffFROM {BASE}\r\nSYSTEM """one\r\ntwo"""\r\n'),
    Case(
        "requires",
        f"FROM {BASE}\nREQUIRES 0.11.0\nSYSTEM needs a recent server\n",
        # v0.11.4's CLI does not know REQUIRES (and its server would drop it):
        # its reference is the same Modelfile without that line.
        reference=f"FROM {BASE}\nSYSTEM needs a recent server\n",
    ),
    Case("chained", "FROM p-from-model\nPARAMETER temperature 0.1\n"),
)


# ---- helpers ------------------------------------------------------------------------------


def cli(server: OllamaServer, cache: Path, *args: str) -> Run:
    return run_cli("--host", server.url, *args, env={"OLLAMA_PROVISION_CACHE": str(cache)})


def requests_since(server: OllamaServer, start: int) -> list[tuple[str, str]]:
    return [(method, path) for _, method, path in server.settled_requests()[start:]]


def writes(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(m, p) for m, p in requests if m not in ("GET", "HEAD") and p != "/api/show"]


def local_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_completion_model(folder / "tiny.gguf", seed=0)
    write_f16_model(folder / "f16.gguf", seed=0)
    write_lora_adapter(folder / "lora.gguf", seed=0)


def manifest_entry(name: str, modelfile: Path, quantize: str | None) -> str:
    extra = f"    quantize: {quantize}\n" if quantize else ""
    return f"  - name: {name}\n    modelfile_path: {modelfile}\n    insecure: true\n{extra}"


def drift(server: OllamaServer, cache: Path, manifest: Path) -> tuple[int, list[dict[str, str]]]:
    result = cli(server, cache, "--output", "json", "drift", str(manifest))
    assert result.code in (0, 3), result.out + result.err
    found = [d for d in json.loads(result.out)["drift"] if d["kind"] != "extra"]
    return result.code, found


def adapters_supported(server: OllamaServer) -> bool:
    """v0.34.4 answers 400 "LoRA adapters are no longer supported" (seen on the real server)."""
    return tuple(int(x) for x in server.version.split(".")) < (0, 34, 0)


# ---- parity and idempotence ----------------------------------------------------------------


def test_same_digest_as_ollama_create_and_reapply_does_nothing(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    server, cache = any_ollama, tmp_path / "cache"
    pinned = server.version == PINNED
    adapters = adapters_supported(server)
    cases = [
        c for c in CASES if (adapters or "ADAPTER" not in c.text) and (pinned or not c.quantize)
    ]
    base = registry.name("library/tiny")
    folder = tmp_path / "modelfiles"
    local_files(folder)
    entries = []
    for case in cases:
        path = folder / f"{case.name}.Modelfile"
        path.write_bytes(case.text.replace(BASE, base).encode())
        entries.append(manifest_entry(f"p-{case.name}", path, case.quantize))
    manifest = tmp_path / "models.yaml"
    manifest.write_text("version: 1\nmodels:\n" + "".join(entries))

    start = len(server.requests())
    first = cli(server, cache, "apply", str(manifest))
    assert first.code == 0, first.out + first.err
    made = requests_since(server, start)
    assert made.count(("POST", "/api/create")) == len(cases)
    # HEAD first, POST only what the server lacks, each file once. tiny.gguf is not
    # sent: it is the registry model's own layer, on the server since the base pull.
    uploads = {p for m, p in made if m == "POST" and p.startswith("/api/blobs/")}
    sent = (["f16.gguf"] if pinned else []) + (["lora.gguf"] if adapters else [])
    assert uploads == {f"/api/blobs/{sha256_file(folder / f)}" for f in sent}
    assert len([p for m, p in made if m == "POST" and p.startswith("/api/blobs/")]) == len(sent)

    # The reference: the same build's CLI, on the same Modelfiles.
    for case in cases:
        text = case.reference if pinned and case.reference else case.text
        path = folder / f"{case.name}.ref.Modelfile"
        path.write_bytes(text.replace(BASE, base).encode())
        args = ["--quantize", case.quantize] if case.quantize else []
        server.cli("create", f"r-{case.name}", "-f", str(path), *args)
    digests = server.tags()
    table = {c.name: (digests[f"p-{c.name}:latest"], digests[f"r-{c.name}:latest"]) for c in cases}
    print(f"\nparity on {server.version}:")
    for name, (ours, theirs) in table.items():
        print(f"  {name:<20} {ours[:12]} {'==' if ours == theirs else '!='} {theirs[:12]}")
    assert {n: ours for n, (ours, _) in table.items()} == {n: t for n, (_, t) in table.items()}
    assert len(set(digests[f"p-{c.name}:latest"] for c in cases)) == len(cases)

    if pinned:  # the generated LoRA adapter is a real one: llama.cpp loads and applies it
        answer = httpx.post(
            server.url + "/api/generate",
            json={
                "model": "p-adapter",
                "prompt": "hello",
                "stream": False,
                "options": {"num_predict": 2},
            },
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert "loaded 8 tensors from lora file" in server.log_path.read_text(errors="replace")

    # Re-apply: nothing to create, nothing to upload, nothing hashed again.
    cache_file = cache / "hashes.json"
    before = cache_file.read_bytes() if cache_file.exists() else b""
    start = len(server.requests())
    started = time.monotonic()
    again = cli(server, cache, "apply", str(manifest))
    seconds = time.monotonic() - started
    assert again.code == 0, again.out + again.err
    assert "in sync" in again.out
    requests = requests_since(server, start)
    assert writes(requests) == [] and not [p for _, p in requests if p.startswith("/api/blobs")]
    assert (cache_file.read_bytes() if cache_file.exists() else b"") == before
    # The same observe in-process, to count the hash cache's hits and misses.
    hashes = HashCache(cache_file)
    with Client(server.url) as client:
        state = observe_server(client, load_manifest(manifest), hash_cache=hashes)
    assert make_plan(load_manifest(manifest), state).actions == ()
    local_paths = (
        {"tiny.gguf"} | ({"f16.gguf"} if pinned else set()) | ({"lora.gguf"} if adapters else set())
    )
    assert {Path(p).name for p in state.local.weights} == local_paths
    assert (hashes.hits, hashes.misses) == (len(local_paths), 0)
    print(
        f"re-apply on {server.version}: {len(cases)} custom models, 0 creates, "
        f"{len(requests)} requests ({sorted(set(p for _, p in requests))}), "
        f"hash cache hits={hashes.hits} misses={hashes.misses}, {seconds:.2f}s"
    )


# ---- every single-field change is found, and fixed alone -----------------------------------

A_FILE = (
    "FROM ./tiny.gguf\n"
    "ADAPTER ./lora.gguf\n"
    'TEMPLATE """<|user|>\n{{ .Prompt }}<|assistant|>\n"""\n'
    "SYSTEM You are model a.\n"
    "PARAMETER stop <|user|>\n"
    "MESSAGE user ping\nMESSAGE assistant pong\n"
    "LICENSE MIT\n"
)
B_INLINE = (
    "FROM {base}\n"
    "SYSTEM You are model b.\n"
    "PARAMETER temperature 0.3\nPARAMETER num_ctx 256\n"
    "MESSAGE user hi\nMESSAGE assistant hello\n"
)
C_STRUCTURED = "    from: {base}\n    system: You are model c.\n    parameters: {{stop: [x, y]}}\n"


@dataclass
class Declared:
    """The four custom models of the drift test, as text a step can change."""

    a: str = A_FILE
    b: str = B_INLINE
    c: str = C_STRUCTURED
    d_quantize: str | None = "q8_0"

    def write(self, folder: Path, base: str) -> Path:
        (folder / "a.Modelfile").write_text(self.a)
        inline = "".join(f"      {line}\n" for line in self.b.format(base=base).splitlines())
        d = f"    quantize: {self.d_quantize}\n" if self.d_quantize else ""
        text = (
            "version: 1\nmodels:\n"
            "  - name: a\n    modelfile_path: a.Modelfile\n"
            f"  - name: b\n    insecure: true\n    modelfile: |\n{inline}"
            f"  - name: c\n    insecure: true\n{self.c.format(base=base)}"
            f"  - name: d\n    modelfile: FROM ./f16.gguf\n{d}"
        )
        manifest = folder / "models.yaml"
        manifest.write_text(text)
        return manifest


def _change(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


STEPS: list[tuple[str, str, str]] = [
    # (what changes, model, a word the drift detail must contain)
    ("b: system text", "b", "system prompt"),
    ("b: system removed", "b", "system prompt"),
    ("a: template text", "a", "template"),
    ("a: template removed", "a", "template"),
    ("b: parameter value", "b", "parameter temperature"),
    ("b: parameter added", "b", "parameter top_k"),
    ("b: parameter removed", "b", "parameter num_ctx"),
    ("a: stop added", "a", "parameter stop"),
    ("b: message text", "b", "messages"),
    ("b: messages removed", "b", "messages"),
    ("a: license text", "a", "license"),
    ("a: adapter file rewritten", "a", "adapters"),
    ("a: adapter removed", "a", "adapters"),
    ("a: FROM file rewritten", "a", "base weights"),
    ("b: FROM another tag", "b", "base"),
    ("c: structured system", "c", "system prompt"),
    ("c: structured stop list", "c", "parameter stop"),
    ("d: quantize type", "d", "quantize"),
    ("d: quantize removed", "d", "base weights"),
]


def _apply_step(step: str, declared: Declared, folder: Path, base: str) -> None:
    if step == "b: system text":
        declared.b = _change(declared.b, "You are model b.", "You are model B.")
    elif step == "b: system removed":
        declared.b = _change(declared.b, "SYSTEM You are model B.\n", "")
    elif step == "a: template text":
        declared.a = _change(declared.a, "<|assistant|>", "<|bot|>")
    elif step == "a: template removed":
        declared.a = _change(declared.a, 'TEMPLATE """<|user|>\n{{ .Prompt }}<|bot|>\n"""\n', "")
    elif step == "b: parameter value":
        declared.b = _change(declared.b, "temperature 0.3", "temperature 0.4")
    elif step == "b: parameter added":
        declared.b += "PARAMETER top_k 5\n"
    elif step == "b: parameter removed":
        declared.b = _change(declared.b, "PARAMETER num_ctx 256\n", "")
    elif step == "a: stop added":
        declared.a += "PARAMETER stop </s>\n"
    elif step == "b: message text":
        declared.b = _change(declared.b, "MESSAGE assistant hello", "MESSAGE assistant hey")
    elif step == "b: messages removed":
        declared.b = _change(declared.b, "MESSAGE user hi\nMESSAGE assistant hey\n", "")
    elif step == "a: license text":
        declared.a = _change(declared.a, "LICENSE MIT", "LICENSE Apache-2.0")
    elif step == "a: adapter file rewritten":
        write_lora_adapter(folder / "lora.gguf", seed=1)
    elif step == "a: adapter removed":
        declared.a = _change(declared.a, "ADAPTER ./lora.gguf\n", "")
    elif step == "a: FROM file rewritten":
        write_completion_model(folder / "tiny.gguf", seed=1)
    elif step == "b: FROM another tag":
        v2 = base.rsplit(":", 1)[0] + ":v2"
        declared.b = _change(declared.b, "FROM {base}", "FROM " + v2)
    elif step == "c: structured system":
        declared.c = _change(declared.c, "model c.", "model C.")
    elif step == "c: structured stop list":
        declared.c = _change(declared.c, "[x, y]", "[x, y, z]")
    elif step == "d: quantize type":
        declared.d_quantize = "q4_k_m"
    elif step == "d: quantize removed":
        declared.d_quantize = None
    else:
        raise AssertionError(step)


def test_each_single_field_change_is_found_and_fixed_alone(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    server, cache, folder = ollama, tmp_path / "cache", tmp_path / "models"
    base = registry.name("library/tiny")
    local_files(folder)
    declared = Declared()
    manifest = declared.write(folder, base)
    first = cli(server, cache, "apply", str(manifest))
    assert first.code == 0, first.out + first.err
    assert drift(server, cache, manifest) == (0, [])

    for step, model, word in STEPS:
        _apply_step(step, declared, folder, base)
        manifest = declared.write(folder, base)
        code, found = drift(server, cache, manifest)
        assert code == 3, step
        if step == "b: FROM another tag":  # the new base is missing: pulled first
            new_base = found.pop(0)
            assert (new_base["kind"], new_base["model"]) == (
                "missing",
                registry.name("library/tiny", "v2"),
            )
        assert [(d["kind"], d["model"]) for d in found] == [
            ("definition-changed", f"{model}:latest")
        ], (step, found)
        assert word in (found[0]["detail"] or ""), (step, found[0]["detail"])
        start = len(server.requests())
        fixed = cli(server, cache, "apply", str(manifest))
        assert fixed.code == 0, (step, fixed.out + fixed.err)
        changes = [p for _, p in writes(requests_since(server, start)) if p != "/api/pull"]
        assert [p for p in changes if not p.startswith("/api/blobs/")] == ["/api/create"], step
        print(f"{step:<28} -> {found[0]['detail']}")
    assert drift(server, cache, manifest) == (0, [])


# ---- Modelfile errors: one line each, with file, line and column ----------------------------


def test_modelfile_errors_are_one_line_each_with_position(tmp_path: Path) -> None:
    bad = {
        "unknown.Modelfile": ("FROM tiny\nSYSTEMM hi\n", "2:1: unknown command 'SYSTEMM'"),
        "unterminated.Modelfile": ('FROM tiny\nSYSTEM """abc\nmore\n', '2:8: unterminated """'),
        "nofrom.Modelfile": ("SYSTEM hi\n", "1:1: no FROM line"),
        "missing.Modelfile": ("FROM ./missing.gguf\n", "1:6: FROM path './missing.gguf' does not"),
        "adapter.Modelfile": (
            "FROM tiny\nADAPTER ./none.gguf\n",
            "2:9: ADAPTER path './none.gguf'",
        ),
        "param.Modelfile": (
            "FROM tiny\nPARAMETER temperature hot\n",
            "2:23: invalid value 'hot' for parameter 'temperature'",
        ),
    }
    entries = []
    for i, (file, (text, _)) in enumerate(bad.items()):
        (tmp_path / file).write_text(text)
        entries.append(f"  - name: m{i}\n    modelfile_path: {file}\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text("version: 1\nmodels:\n" + "".join(entries))
    result = run_cli("validate", "models.yaml", cwd=tmp_path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    for file, (_, expected) in bad.items():
        line = next(x for x in lines if x.startswith(f"{file}:"))
        assert line.startswith(f"{file}:{expected}"), line
        print(line)


def test_unreadable_local_weights_fail_that_model_only(
    ollama: OllamaServer, tmp_path: Path
) -> None:
    # An empty folder is a validate error now; weights that vanish between
    # validation and the create are what can still fail at apply time.
    write_completion_model(tmp_path / "tiny.gguf")
    (tmp_path / "gone").mkdir()
    write_completion_model(tmp_path / "gone" / "model.gguf")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nmodels:\n"
        "  - name: folder\n    modelfile: FROM ./gone\n"
        "  - name: fine\n    modelfile: FROM ./tiny.gguf\n"
    )
    loaded = provisioner.load(manifest)
    (tmp_path / "gone" / "model.gguf").unlink()
    results = provisioner.apply(loaded, host=ollama.url)
    outcomes = {r.model.display: (r.outcome, r.error or "") for r in results}
    assert outcomes["fine:latest"] == ("done", "")
    assert outcomes["folder:latest"][0] == "failed"
    assert "no weights found" in outcomes["folder:latest"][1]
    assert sorted(ollama.tags()) == ["fine:latest"]


def test_a_server_without_adapter_support_fails_that_model_like_the_cli(
    newest_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    assert not adapters_supported(newest_ollama)
    folder = tmp_path / "modelfiles"
    local_files(folder)
    base = registry.name("library/tiny")
    path = folder / "adapter.Modelfile"
    path.write_text(f"FROM {base}\nADAPTER ./lora.gguf\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nmodels:\n"
        + manifest_entry("with-lora", path, None)
        + f"  - name: plain\n    from: {base}\n    system: plain\n"
    )
    result = cli(newest_ollama, tmp_path / "cache", "apply", str(manifest))
    assert result.code == 1
    assert "FAILED create with-lora:latest: LoRA adapters are no longer supported" in result.out
    assert "ok     create plain:latest" in result.out
    reference = newest_ollama.cli("create", "ref-lora", "-f", str(path), check=False)
    assert "LoRA adapters are no longer supported" in reference
    assert "with-lora:latest" not in newest_ollama.tags()


def test_a_server_without_gguf_quantize_fails_that_model_like_the_cli(
    newest_ollama: OllamaServer, tmp_path: Path
) -> None:
    folder = tmp_path / "modelfiles"
    local_files(folder)
    path = folder / "f16.Modelfile"
    path.write_text("FROM ./f16.gguf\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text("version: 1\nmodels:\n" + manifest_entry("q", path, "q8_0"))
    result = cli(newest_ollama, tmp_path / "cache", "apply", str(manifest))
    assert result.code == 1
    refusal = "create-time quantization is only supported for safetensors imports"
    assert f"FAILED create q:latest: {refusal}" in result.out
    reference = newest_ollama.cli(
        "create", "ref-q", "-f", str(path), "--quantize", "q8_0", check=False
    )
    assert refusal in reference
    assert newest_ollama.tags() == {}
