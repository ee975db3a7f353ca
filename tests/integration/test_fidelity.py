"""Issue 11 ("Fidelity") against real servers of both builds.

1. A name spelled in another case reads the registry as Ollama does.
2. Unicode 15 emoji survive (Go's tables, not Python's): same digest as `ollama
   create -f`, and such a model built by hand is in sync (adoption, case 6).
3. A folder reached through a symlink is refused where Ollama refuses it.
4. An empty FROM is a validate error at the Modelfile's line and column.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer

EMOJI_SYSTEM = "SYSTEM You are sweet \U0001fa77 and shy \U0001fae8.\n"


def cli(server: OllamaServer, cache: Path, *args: str) -> Run:
    return run_cli("--host", server.url, *args, env={"OLLAMA_PROVISION_CACHE": str(cache)})


def test_a_name_in_another_case_reads_the_registry_as_ollama_does(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    server, cache = any_ollama, tmp_path / "cache"
    held = registry.name("library/tiny")
    server.cli("pull", "--insecure", held)
    shouting = f"{registry.host}/library/TINY"
    manifest = tmp_path / "models.yaml"
    manifest.write_text(f"version: 1\nmodels:\n  - name: {shouting}\n    insecure: true\n")
    for args in (("drift", "--check-updates"), ("apply", "--check-updates")):
        result = cli(server, cache, *args, str(manifest))
        assert result.code == 0, (args, result.out + result.err)
        assert "has no" not in result.out + result.err
    always = tmp_path / "always.yaml"
    always.write_text(
        f"version: 1\nmodels:\n  - name: {shouting}\n    insecure: true\n    pull: always\n"
    )
    result = cli(server, cache, "apply", str(always))
    assert result.code == 0, result.out + result.err
    assert server.tags() == {held: server.tags()[held]}  # still one model, the held one
    # Ollama itself pulls the name spelled so (it folds onto the model it holds).
    assert "success" in server.cli("pull", "--insecure", shouting)


def test_unicode_15_emoji_keep_the_digest_of_ollama_create_and_adopt(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    server = any_ollama
    base = registry.name("library/tiny")
    server.cli("pull", "--insecure", base)
    folder = tmp_path / "modelfiles"
    folder.mkdir()
    texts = {
        "utf8": (f"FROM {base}\n{EMOJI_SYSTEM}").encode(),
        "utf16": ("\ufeff" + f"FROM {base}\r\n{EMOJI_SYSTEM}").encode("utf-16-le"),
    }
    entries = []
    for label, data in texts.items():
        path = folder / f"{label}.Modelfile"
        path.write_bytes(data)
        server.cli("create", f"ref-{label}", "-f", str(path), cwd=folder)
        entries.append(f"  - name: ours-{label}\n    modelfile_path: {path}\n")
        entries.append(f"  - name: ref-{label}\n    modelfile_path: {path}\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text("version: 1\nmodels:\n" + "".join(entries))

    # Adoption: the models `ollama create -f` built are in sync on a fresh machine
    # (no hash cache); only ours are missing.
    result = cli(server, tmp_path / "fresh-cache", "--output", "json", "drift", str(manifest))
    drifts = [d for d in json.loads(result.out)["drift"] if d["kind"] != "extra"]
    assert sorted((d["kind"], d["model"]) for d in drifts) == [
        ("missing", "ours-utf16:latest"),
        ("missing", "ours-utf8:latest"),
    ]
    applied = cli(server, tmp_path / "cache", "apply", str(manifest))
    assert applied.code == 0, applied.out + applied.err
    tags = server.tags()
    assert tags["ours-utf8:latest"] == tags["ref-utf8:latest"]
    assert tags["ours-utf16:latest"] == tags["ref-utf16:latest"]
    shown = server.cli("show", "ref-utf8", "--system")
    assert "\U0001fa77" in shown and "\U0001fae8" in shown
    again = cli(server, tmp_path / "other-cache", "drift", str(manifest))
    assert again.code == 0, again.out + again.err


def test_a_folder_through_a_symlink_is_refused_as_ollama_refuses_it(
    any_ollama: OllamaServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    for folder in ("mistral-7b-merged", "checkpoint"):
        (outside / folder).mkdir(parents=True)
        (outside / folder / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    here = tmp_path / "here"
    here.mkdir()
    (here / "models").symlink_to(outside)
    cases = {
        "from": ("FROM ./models/mistral-7b-merged\n", "1:6"),
        "adapter": (
            "FROM ./models/mistral-7b-merged/../../x.gguf\nADAPTER ./models/checkpoint\n",
            "2:9",
        ),
    }
    (here / "x.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(16))
    for label, (text, position) in cases.items():
        path = here / f"{label}.Modelfile"
        path.write_text(text)
        theirs = any_ollama.cli("create", f"sym-{label}", "-f", str(path), cwd=here, check=False)
        if label == "adapter" and any_ollama.version != "0.11.4":
            # Newer builds refuse every LoRA adapter before looking at its path.
            assert "LoRA adapters are no longer supported" in theirs, theirs
        else:
            assert "insecure path" in theirs, theirs
        manifest = here / f"{label}.yaml"
        manifest.write_text(
            f"version: 1\nmodels:\n  - name: sym-{label}\n    modelfile_path: {path.name}\n"
        )
        ours = run_cli("validate", str(manifest))
        assert ours.code == 2, ours.out + ours.err
        assert f"{path.name}:{position}: insecure path" in ours.out + ours.err
        assert str(outside.resolve()) in ours.out + ours.err
    assert not any(name.startswith("sym-") for name in any_ollama.tags())


def test_an_empty_from_fails_validate_at_the_modelfiles_place(
    any_ollama: OllamaServer, tmp_path: Path
) -> None:
    folder = tmp_path / "mf"
    folder.mkdir()
    path = folder / "empty.Modelfile"
    path.write_text("# to do\nFROM \nSYSTEM hi\n")
    theirs = any_ollama.cli("create", "empty", "-f", str(path), cwd=folder, check=False)
    assert "empty" not in any_ollama.tags()
    assert "no Modelfile or safetensors files found" in theirs, theirs
    manifest = tmp_path / "models.yaml"
    manifest.write_text(
        "version: 1\nmodels:\n  - name: empty\n    modelfile_path: mf/empty.Modelfile\n"
    )
    ours = run_cli("validate", str(manifest))
    assert ours.code == 2
    assert "mf/empty.Modelfile:2:6: empty FROM" in ours.out + ours.err
