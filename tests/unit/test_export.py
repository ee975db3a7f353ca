"""export's pure part: grouping, classification, definitions read back, the YAML it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.export.build import Export, build_export
from provisioner.export.groups import Group, group_tags, plain_http_likely
from provisioner.export.origin import origin_of
from provisioner.export.render import render
from provisioner.manifest.load import load_manifest
from provisioner.names import parse_name
from provisioner.types.manifest import Manifest
from provisioner.types.wire import ShowResult, TagEntry
from tests.show_text import show_parameters

BLOBS = "/srv/ollama/models/blobs"
W1, W2, W3 = "1" * 64, "2" * 64, "3" * 64


def show(
    *,
    parent: str = "",
    weights: str = W1,
    blobs: str = BLOBS,
    adapters: tuple[str, ...] = (),
    **kw: Any,
) -> ShowResult:
    """What /api/show answers: a Modelfile whose FROM is a blob of this server."""
    lines = [f"FROM {blobs}/sha256-{weights}"]
    lines += [f"ADAPTER {blobs}/sha256-{a}" for a in adapters]
    fields: dict[str, Any] = dict(
        system="",
        template="{{ .Prompt }}",
        parameters="",
        license="",
        modelfile="\n".join(lines) + "\n",
        capabilities=("completion",),
        details={"parent_model": parent},
        messages=(),
        raw={},
    )
    fields.update(kw)
    return ShowResult(**fields)


def tags(*entries: tuple[str, str]) -> list[TagEntry]:
    return [TagEntry(name, digest, 1, "") for name, digest in entries]


def export_of(entries: list[tuple[str, str]], shows: dict[str, ShowResult], **kw: Any) -> Export:
    groups, skipped = group_tags(tags(*entries))
    return build_export(groups, shows, skipped=skipped, **kw)


def written(export: Export, tmp_path: Path) -> tuple[str, Manifest]:
    text = render(export, source="http://127.0.0.1:11434", server_version="0.11.4")
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    return text, load_manifest(path, env={})


def declared(manifest: Manifest) -> dict[str, list[str]]:
    return {s.name.display: [a.display for a in s.aliases] for s in manifest.models}


# ---- names --------------------------------------------------------------------------------


def test_same_digest_is_one_model_named_by_its_registry_host_then_namespace_then_length() -> None:
    groups, _ = group_tags(
        tags(
            ("tiny-alias:latest", "a"),
            ("myns/zzz:1", "a"),
            ("127.0.0.1:5000/library/tiny:latest", "a"),
            ("b:latest", "b"),
            ("aa:latest", "b"),
            ("llama3.2:3b", "c"),
            ("llama3.2:latest", "c"),
        )
    )
    named = {g.digest: [n.display for n in g.names] for g in groups}
    assert named["a"] == ["127.0.0.1:5000/library/tiny:latest", "myns/zzz:1", "tiny-alias:latest"]
    assert named["b"] == ["b:latest", "aa:latest"]  # shortest first
    assert named["c"] == ["llama3.2:3b", "llama3.2:latest"]


def test_names_ollama_rejects_are_skipped_and_reported() -> None:
    groups, skipped = group_tags(tags(("ok:latest", "a"), ("bad name:latest", "b")))
    assert [g.canonical.display for g in groups] == ["ok:latest"]
    assert skipped == ("bad name:latest",)


@pytest.mark.parametrize(
    ("host", "plain"),
    [
        ("127.0.0.1:5000", True),
        ("localhost:5000", True),
        ("localhost", True),
        ("10.1.2.3", True),
        ("192.168.1.20:5000", True),
        ("172.20.0.2:5000", True),
        ("[::1]:5000", True),
        ("registry.internal:5000", True),
        ("nas.local", True),
        ("registry.example.com", False),
        ("8.8.8.8:5000", False),
        ("registry.ollama.ai", False),
    ],
)
def test_plain_http_is_assumed_only_for_loopback_and_private_hosts(host: str, plain: bool) -> None:
    assert plain_http_likely(host) is plain


# ---- where a model came from ----------------------------------------------------------------


def group(*names: str) -> Group:
    return Group("d", tuple(parse_name(n) for n in names))


@pytest.mark.parametrize(
    ("names", "parent", "origin"),
    [
        (("llama3.2",), "", "registry"),
        (("concise",), "llama3.2:latest", "custom"),
        (("concise",), "127.0.0.1:5000/team/tiny:v1", "custom"),
        (("mine",), f"{BLOBS}/sha256-{W1}", "file"),  # v0.11: a blob of this server
        (("127.0.0.1:5000/library/tiny",), f"/elsewhere/blobs/sha256-{W1}", "registry"),
        (("mine",), "weights.gguf", "file"),  # v0.32: the file name
        (("team/mine",), "weights.gguf", "registry"),  # published under a namespace
        (("127.0.0.1:5000/t/mine",), "weights.gguf", "registry"),
        (("mine",), "Model.SAFETENSORS", "file"),
        (("mine",), f"sha256-{W1}", "file"),  # v0.34: a GGUF file named without .gguf
        (("team/mine",), f"sha256-{W1}", "registry"),
    ],
)
def test_origin(names: tuple[str, ...], parent: str, origin: str) -> None:
    assert origin_of(group(*names), show(parent=parent))[0] == origin


def test_a_model_built_here_from_a_file_is_a_registry_model_when_its_registry_serves_it() -> None:
    entries = [("mine:latest", "a"), ("127.0.0.1:5000/team/mine:v1", "a")]
    shows = {"a": show(parent=f"{BLOBS}/sha256-{W1}")}
    asked: list[str] = []

    def serves(g: Group, _: ShowResult) -> bool:
        asked.append(g.canonical.display)
        return True

    export = export_of(entries, shows, registry_serves=serves)
    assert asked == ["127.0.0.1:5000/team/mine:v1"]
    assert [m.kind for m in export.models] == ["registry"]
    assert export.models[0].insecure

    unpushed = export_of(entries, shows, registry_serves=lambda g, s: False)
    assert [m.kind for m in unpushed.models] == ["unreproducible"]


def test_a_custom_model_pushed_to_its_own_registry_is_a_registry_model() -> None:
    entries = [("127.0.0.1:5000/team/concise:v1", "c"), ("base:latest", "b")]
    shows = {"c": show(parent="base:latest", system="x"), "b": show()}
    export = export_of(entries, shows, registry_serves=lambda g, s: True)
    assert sorted(m.kind for m in export.models) == ["registry", "registry"]
    asked: list[str] = []

    def serves(g: Group, _: ShowResult) -> bool:
        asked.append(g.canonical.display)
        return True

    # ollama.com is never asked: a namespaced name on the default host stays custom
    export = export_of(
        [("team/concise:v1", "c"), ("base:latest", "b")], shows, registry_serves=serves
    )
    assert asked == []
    assert export.of_kind("custom")[0].group.canonical.display == "team/concise:v1"


# ---- custom definitions ----------------------------------------------------------------------


def test_a_custom_model_keeps_only_what_differs_from_its_base(tmp_path: Path) -> None:
    base = show(
        system="base prompt",
        parameters=show_parameters(temperature=0.8, stop=["<a>"]),
        license="BASE LICENSE",
        messages=({"role": "user", "content": "hi"},),
    )
    custom = show(
        parent="base:latest",
        system="be brief",
        parameters=show_parameters(temperature=0.3, stop=["<a>"], num_ctx=128),
        license="BASE LICENSE\nMIT",
        messages=({"role": "user", "content": "hi"},),
    )
    export = export_of([("base:latest", "b"), ("custom:latest", "c")], {"b": base, "c": custom})
    model = export.of_kind("custom")[0]
    assert model.create is not None
    assert model.create.system == "be brief"
    assert dict(model.create.parameters) == {"temperature": 0.3, "num_ctx": 128}
    assert model.create.license == ("MIT",)
    assert model.create.messages == ()
    assert model.create.template is None
    text, manifest = written(export, tmp_path)
    assert "modelfile: |\n      FROM base:latest\n      SYSTEM be brief\n" in text
    spec = next(s for s in manifest.models if s.name.display == "custom:latest")
    assert spec.create == model.create


def test_what_a_create_cannot_undo_is_noted() -> None:
    base = show(
        system="base",
        parameters=show_parameters(seed=1),
        messages=({"role": "user", "content": "x"},),
    )
    custom = show(parent="base:latest")
    export = export_of([("base:latest", "b"), ("custom:latest", "c")], {"b": base, "c": custom})
    notes = " ".join(export.of_kind("custom")[0].notes)
    assert "cannot clear" in notes and "seed" in notes


def test_a_base_that_is_an_alias_is_written_as_it_was_recorded() -> None:
    # Issue 11: the layers record the name the model was built FROM; only that FROM
    # rebuilds the same digest (it used to be rewritten to the alias's model).
    entries = [("a:latest", "a"), ("a-copy:latest", "a"), ("b:latest", "b")]
    shows = {"a": show(), "b": show(parent="a-copy:latest", system="on top")}
    export = export_of(entries, shows)
    built = export.of_kind("custom")[0]
    assert built.create is not None and built.create.from_ == "a-copy:latest"
    assert built.create.system == "on top"  # compared with the alias's model, its base
    assert any("alias of a:latest" in n for n in built.notes)


def test_a_base_missing_from_the_server_is_pulled_and_gets_insecure_by_its_host() -> None:
    shows = {"c": show(parent="127.0.0.1:5000/team/tiny:v1", system="x", license="L")}
    export = export_of([("custom:latest", "c")], shows)
    model = export.models[0]
    assert model.kind == "custom" and model.insecure
    assert model.create is not None and model.create.template is None  # {{ .Prompt }}: none
    assert any("license left out" in n for n in model.notes)


def test_changed_weights_over_the_same_base_are_a_quantize() -> None:
    groups, _ = group_tags(
        [
            TagEntry("base:latest", "b", 1, "", {"quantization_level": "F16"}),
            TagEntry("small:latest", "s", 1, "", {"quantization_level": "Q4_K_M"}),
        ]
    )
    shows = {"b": show(weights=W1), "s": show(parent="base:latest", weights=W2)}
    model = build_export(groups, shows).of_kind("custom")[0]
    assert model.create is not None and model.create.quantize == "Q4_K_M"


# ---- what cannot be reproduced ----------------------------------------------------------------


def test_local_file_models_and_what_is_built_on_them_are_commented_out(tmp_path: Path) -> None:
    entries = [
        ("tiny:latest", "t"),
        ("from-file:latest", "f"),
        ("on-file:latest", "o"),
        ("with-adapter:latest", "w"),
    ]
    shows = {
        "t": show(),
        "f": show(parent=f"{BLOBS}/sha256-{W2}", weights=W2, system="sys"),
        "o": show(parent="from-file:latest", weights=W2, system="more"),
        "w": show(parent="tiny:latest", adapters=(W3,)),
    }
    export = export_of(entries, shows)
    kinds = {m.group.canonical.display: m.kind for m in export.models}
    assert kinds == {
        "tiny:latest": "registry",
        "from-file:latest": "unreproducible",
        "on-file:latest": "unreproducible",
        "with-adapter:latest": "unreproducible",
    }
    text, manifest = written(export, tmp_path)
    assert declared(manifest) == {"tiny:latest": []}
    assert f"sha256:{W2}" in text
    assert "  # - name: from-file:latest\n  #   modelfile: |\n  #     FROM ./model.gguf\n" in text
    # the commented-out entry is a valid entry once uncommented (and the file is there)
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    restored = tmp_path / "restored.yaml"
    restored.write_text(
        text.replace("  # - name: from-file", "  - name: from-file").replace(
            "  #   modelfile: |\n  #     FROM ./model.gguf\n  #     SYSTEM sys",
            "    modelfile: |\n      FROM ./model.gguf\n      SYSTEM sys",
        )
    )
    assert "from-file:latest" in declared(load_manifest(restored, env={}))
    order = [m.group.canonical.display for m in export.of_kind("unreproducible")]
    assert order.index("from-file:latest") < order.index("on-file:latest")


def test_a_model_recorded_as_built_from_itself_is_not_declared() -> None:
    export = export_of([("a:latest", "a"), ("b:latest", "a")], {"a": show(parent="b:latest")})
    assert [m.kind for m in export.models] == ["unreproducible"]


# ---- the YAML --------------------------------------------------------------------------------


def test_awkward_text_survives_the_round_trip(tmp_path: Path) -> None:
    system = 'Use ${name} and $${x}.\n\tindented: yes\n"quoted"\n  trailing  \nüñí'
    template = '{{ .System }}\n"""\n{{ .Prompt }}'  # a line ending in """: no Modelfile form
    shows = {
        "b": show(),
        "c": show(parent="base:latest", system=system),
        "d": show(
            parent="base:latest", template=template, parameters=show_parameters(stop=["a b", "#"])
        ),
    }
    export = export_of([("base:latest", "b"), ("c:latest", "c"), ("d:latest", "d")], shows)
    text, manifest = written(export, tmp_path)
    specs = {s.name.display: s.create for s in manifest.models}
    assert specs["c:latest"] is not None and specs["c:latest"].system == system
    assert specs["d:latest"] is not None and specs["d:latest"].template == template
    assert specs["d:latest"].parameters == {"stop": ["a b", "#"]}
    assert "from: base:latest" in text  # the structured form, where a Modelfile cannot say it


def test_an_empty_server_exports_a_valid_empty_manifest(tmp_path: Path) -> None:
    text, manifest = written(export_of([], {}), tmp_path)
    assert manifest.models == ()
    assert text.splitlines()[2].startswith("# yaml-language-server: $schema=")
    assert yamllint_problems(text) == []


def test_registry_entries_carry_insecure_with_a_comment_and_aliases(tmp_path: Path) -> None:
    entries = [
        ("127.0.0.1:5000/library/tiny:latest", "a"),
        ("tiny-alias:latest", "a"),
        ("registry.example.com/team/m:v1", "b"),
        ("llama3.2:latest", "c"),
    ]
    export = export_of(entries, {"a": show(), "b": show(), "c": show()})
    text, manifest = written(export, tmp_path)
    specs = {s.name.display: s for s in manifest.models}
    assert specs["127.0.0.1:5000/library/tiny:latest"].insecure
    assert [a.display for a in specs["127.0.0.1:5000/library/tiny:latest"].aliases] == [
        "tiny-alias:latest"
    ]
    assert not specs["registry.example.com/team/m:v1"].insecure
    assert not specs["llama3.2:latest"].insecure
    assert "plain http assumed for 127.0.0.1:5000" in text
    comments = " ".join(line.strip().removeprefix("# ") for line in text.splitlines())
    assert "add `insecure: true` if it speaks plain http" in comments
    assert yamllint_problems(text) == []  # the most common YAML linter, its defaults


def yamllint_problems(text: str) -> list[str]:
    """What yamllint's default configuration says of the text."""
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    found = linter.run(text, YamlLintConfig("extends: default"))
    return [f"{p.line}:{p.column} {p.message}" for p in found]


def test_a_value_too_long_to_wrap_turns_the_line_length_rule_off_once(tmp_path: Path) -> None:
    system = "Answer in one line. " * 8  # one SYSTEM line of 160 characters
    shows = {"b": show(), "c": show(parent="base:latest", system=system.strip())}
    export = export_of([("base:latest", "b"), ("c:latest", "c")], shows)
    text, _ = written(export, tmp_path)
    assert text.splitlines()[:2] == ["---", "# yamllint disable rule:line-length"]
    assert yamllint_problems(text) == []
