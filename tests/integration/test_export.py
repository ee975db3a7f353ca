"""`export` against real servers: export one server, apply to an empty one, compare."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from provisioner.manifest.load import load_manifest
from provisioner.names import parse_name
from provisioner.server.registry import fetch_manifest
from tests.integration.cli_runner import run_cli
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.ports import free_port
from tests.testbed.seed import gguf_for


def digests(server: OllamaServer) -> dict[str, str]:
    models = httpx.get(server.url + "/api/tags", timeout=30).json()["models"]
    return {m["name"]: m["digest"] for m in models}


@contextmanager
def empty_server(like: OllamaServer, workdir: Path) -> Iterator[OllamaServer]:
    server = start_server(like.version, workdir)
    try:
        yield server
    finally:
        server.stop()


def build(server: OllamaServer, folder: Path, name: str, modelfile: str) -> None:
    """`ollama create` with the server's own CLI (the reference client)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.replace('/', '_').replace(':', '_')}.Modelfile"
    path.write_text(modelfile)
    server.cli("create", name, "-f", str(path), cwd=folder)


def fill(server: OllamaServer, registry: FilledRegistry, folder: Path) -> None:
    """Registry models, copies of them, and custom models built by the Ollama CLI."""
    tiny = registry.name("library/tiny")
    for name in (tiny, registry.name("library/tiny-embed"), registry.name("team/tiny", "v1")):
        server.cli("pull", "--insecure", name)
    server.cli("cp", tiny, "tiny-alias")
    server.cli("cp", tiny, "myns/zzz:1")
    build(
        server,
        folder,
        "concise",
        f'FROM {tiny}\nSYSTEM """Be brief.\nUse ${{name}} literally."""\n'
        'PARAMETER temperature 0.3\nPARAMETER num_ctx 128\nPARAMETER stop "<x>"\n'
        "MESSAGE user hi\nMESSAGE assistant hello\nLICENSE MIT\n",
    )
    server.cli("cp", "concise", "team/concise:stable")
    build(server, folder, "chained", "FROM concise\nSYSTEM chained\nPARAMETER temperature 0.7\n")
    build(server, folder, "on-alias", "FROM tiny-alias\nSYSTEM via an alias\n")
    # A TEMPLATE restated as the base has it: a layer of its own, yet /api/show cannot tell.
    shown = httpx.post(server.url + "/api/show", json={"model": tiny}).json()
    build(server, folder, "own-template", f'FROM {tiny}\nTEMPLATE """{shown["template"]}"""\n')
    # FROM a blob path, as `ollama show --modelfile` prints it (no .gguf suffix): a
    # local file only this server has, never a registry name to pull.
    blob = next(line[5:] for line in shown["modelfile"].splitlines() if line.startswith("FROM /"))
    build(server, folder, "from-blob", f"FROM {blob}\nSYSTEM from a blob\n")


READS = {"GET", "HEAD"}


def test_export_only_reads_and_export_exact_reproduces_every_model(
    any_ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    fill(any_ollama, registry, tmp_path / "modelfiles")
    exported = tmp_path / "exported.yaml"
    before = len(any_ollama.settled_requests())
    result = run_cli("--host", any_ollama.url, "export", "--output-file", str(exported))
    assert result.code == 0, result.err
    # Ollama's own request log: an export is a read (GET, HEAD, POST /api/show only).
    sent = any_ollama.settled_requests()[before:]
    writes = [(m, path) for _, m, path in sent if m not in READS and path != "/api/show"]
    assert sent and not writes, writes
    assert "export --exact" not in result.err
    assert "5 registry" not in result.err  # aliases are not models
    assert "exported 7 model(s)" in result.err
    assert "warning: from-blob:latest written commented out" in result.err
    assert run_cli("validate", str(exported)).code == 0
    # The one model reads cannot settle says so, on itself.
    text = exported.read_text()
    own = text[text.index("name: own-template") - 400 : text.index("name: own-template")]
    assert "written as inherited" in own and "export --exact" in own

    manifest = load_manifest(exported, env={})
    kinds = {s.name.display: s.kind for s in manifest.models}
    assert kinds == {
        registry.name("library/tiny"): "registry",
        registry.name("library/tiny-embed"): "registry",
        registry.name("team/tiny", "v1"): "registry",
        "concise:latest": "custom",  # not team/concise:stable: `chained` is built FROM concise
        "chained:latest": "custom",
        "on-alias:latest": "custom",
        "own-template:latest": "custom",
    }
    assert all(s.insecure for s in manifest.models if s.kind == "registry")

    # --exact: the one export that writes, and it says what it built and deleted.
    exact_file = tmp_path / "exact.yaml"
    exact = run_cli("--host", any_ollama.url, "export", "--exact", "-f", str(exact_file))
    assert exact.code == 0, exact.err
    built = [line for line in exact.err.splitlines() if line.startswith("export --exact: ")]
    # One throwaway per custom model whose TEMPLATE equals its base's, each deleted.
    made = [line for line in built if line.startswith("export --exact: built ")]
    gone = [line for line in built if line.startswith("export --exact: deleted ")]
    assert len(made) == len(gone) >= 1, exact.err
    assert any(line.endswith("the TEMPLATE of own-template:latest") for line in made)
    assert not [n for n in digests(any_ollama) if "probe" in n]  # the throwaway is gone

    source = digests(any_ollama)
    del source["from-blob:latest"]  # its weights exist only on the source server
    with empty_server(any_ollama, tmp_path / "target") as target:
        applied = run_cli("--host", target.url, "apply", "--yes", str(exact_file))
        assert applied.code == 0, applied.out + applied.err
        copy = digests(target)
        # Pulls and copies are byte-identical; so is every custom model rebuilt from the
        # same request over the same base: on-alias FROM its alias (apply copies the alias
        # first), own-template with its TEMPLATE written although it equals its base's.
        assert copy == source
        planned = run_cli("--host", target.url, "plan", "--exit-code", str(exact_file))
        assert planned.code == 0, planned.out + planned.err

        # Exporting the copy gives the same manifest: export and apply are inverses.
        again = run_cli("--host", target.url, "export", "--exact")
        assert again.code == 0, again.err
        assert entries(again.out) == entries(exact_file.read_text())
        assert "built FROM tiny-alias:latest, an alias of" in exact_file.read_text()

    # The read-only export round-trips every model but the one its comment names.
    with empty_server(any_ollama, tmp_path / "target2") as target:
        applied = run_cli("--host", target.url, "apply", "--yes", str(exported))
        assert applied.code == 0, applied.out + applied.err
        copy = digests(target)
        differs = sorted(n for n in source if copy.get(n) != source[n])
        assert differs == ["own-template:latest"], differs


def entries(text: str) -> list[str]:
    """The manifest without its comments (which name the server and explain choices)."""
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def test_a_model_built_from_a_local_file_is_exported_commented_out(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "modelfiles"
    gguf = gguf_for("completion", 7, folder)
    build(ollama, folder, "from-file", f"FROM ./{gguf.name}\nSYSTEM local\n")
    build(ollama, folder, "on-file", "FROM from-file\nSYSTEM more\n")
    # The same kind of model, pushed to a registry: that one is reproducible.
    gguf2 = gguf_for("completion", 8, folder)
    build(ollama, folder, "pushed", f"FROM ./{gguf2.name}\n")
    published = registry.name("export-test/pushed", "v1")
    ollama.cli("cp", "pushed", published)
    ollama.cli("push", "--insecure", published)

    exported = tmp_path / "exported.yaml"
    result = run_cli("--host", ollama.url, "export", "-f", str(exported))
    assert result.code == 0, result.err
    assert "warning: from-file:latest written commented out" in result.err
    assert "warning: on-file:latest written commented out" in result.err
    text = exported.read_text()
    weights = "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert weights in text
    assert "  # - name: from-file:latest\n" in text
    declared = {
        s.name.display: [a.display for a in s.aliases]
        for s in load_manifest(exported, env={}).models
    }
    assert declared == {published: ["pushed:latest"]}

    with empty_server(ollama, tmp_path / "target") as target:
        applied = run_cli("--host", target.url, "apply", "--yes", str(exported))
        assert applied.code == 0, applied.out + applied.err
        copy = digests(target)
        assert sorted(copy) == [published, "pushed:latest"]
        assert copy["pushed:latest"] == copy[published]
        remote = fetch_manifest(parse_name(published), insecure=True)
        assert remote.matches(copy[published])


def test_export_never_overwrites_without_force_and_never_leaves_half_a_file(
    ollama: OllamaServer, registry: FilledRegistry, tmp_path: Path
) -> None:
    ollama.cli("pull", "--insecure", registry.name("library/tiny"))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "models.yaml"
    target.write_text("# mine\n")
    refused = run_cli("--host", ollama.url, "export", "--output-file", str(target))
    assert refused.code == 2
    assert refused.err.strip() == f"error: {target} exists; use --force to replace it"
    assert target.read_text() == "# mine\n"

    forced = run_cli("--host", ollama.url, "export", "--output-file", str(target), "--force")
    assert forced.code == 0, forced.err
    assert [s.name.display for s in load_manifest(target, env={}).models] == [
        registry.name("library/tiny")
    ]

    dead = f"http://127.0.0.1:{free_port()}"
    fresh = out / "fresh.yaml"
    failed = run_cli("--host", dead, "export", "--output-file", str(fresh))
    assert failed.code == 1
    assert failed.err.strip().splitlines() == [
        f"error: cannot connect to {dead}: is Ollama running there? (check --host) "
        "(gave up after 4 attempts)"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["models.yaml"]  # no temp file left
