"""`mirrors:`: names on the mirror, the manifest's checks, and plans that pull through a
mirror (where from, the leftover mirror-named tag)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioner.errors import ManifestError, ServerError
from provisioner.manifest.load import load_manifest
from provisioner.manifest.mirrors import mirror_name, route, split_to
from provisioner.names import parse_name
from provisioner.reconcile.actions import Delete, Drift, Pull, Source
from provisioner.reconcile.apply import explain_source
from provisioner.reconcile.plan import make_plan
from provisioner.types.manifest import (
    CreateSpec,
    Manifest,
    Mirror,
    ModelSpec,
    PruneSettings,
    ServerSettings,
)
from provisioner.types.state import RemoteManifest, ServerModel, ServerState
from provisioner.views.json_docs import action_json
from provisioner.views.text import action_line
from tests.unit.builders import spec

A, B = "a" * 64, "b" * 64
CORP = Mirror("registry.ollama.ai", "mirror.corp:5000", None, True)
PREFIXED = Mirror("registry.ollama.ai", "mirror.corp:5000", "ollama", False)


def manifest(*models: ModelSpec, mirrors: dict[str, Mirror] | None = None) -> Manifest:
    m = mirrors if mirrors is not None else {CORP.source: CORP}
    return Manifest(Path("m.yaml"), 1, ServerSettings(), models, PruneSettings(), mirrors=m)


def server(*models: tuple[str, str]) -> ServerState:
    found = tuple(ServerModel(parse_name(n), "sha256:" + d, 1, "") for n, d in models)
    return ServerState("0.11.4", found)


def test_mirror_names_keep_the_path_or_put_the_prefix_in_the_namespace() -> None:
    name = parse_name("llama3.2")
    assert mirror_name(name, CORP).display == "mirror.corp:5000/library/llama3.2:latest"
    assert mirror_name(name, PREFIXED).display == "mirror.corp:5000/ollama/llama3.2:latest"
    assert split_to("m:5000/ollama") == ("m:5000", "ollama")
    assert split_to("m:5000") == ("m:5000", None)


def test_route_is_by_the_registry_host_ignoring_case() -> None:
    mirrors = {"registry.ollama.ai": CORP, "127.0.0.1:5000": PREFIXED}
    assert route(parse_name("Registry.Ollama.AI/library/x"), mirrors) is CORP
    assert route(parse_name("127.0.0.1:5000/library/x"), mirrors) is PREFIXED
    assert route(parse_name("other.io/library/x"), mirrors) is None


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(text: str) -> Manifest:
    Path("m.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_manifest("m.yaml", env={})


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


def test_both_forms_load(workdir: Path) -> None:
    m = load("""\
        version: 1
        mirrors:
          registry.ollama.ai: {to: mirror.corp:5000/ollama, insecure: true}
          127.0.0.1:5000: Mirror.corp:5001
        models: [{name: llama3.2}]
        """)
    assert m.mirrors == {
        "registry.ollama.ai": Mirror("registry.ollama.ai", "mirror.corp:5000", "ollama", True),
        "127.0.0.1:5000": Mirror("127.0.0.1:5000", "Mirror.corp:5001", None, False),
    }


def test_bad_entries_are_refused_at_their_position(workdir: Path) -> None:
    found = problems("""\
        version: 1
        mirrors:
          "http://x": foo
          reg.io: {to: "http://m:5000", insecur: true}
          Reg.IO: m:1
          a.b: a.b
          c.d: m:1/a/b
          e.f: {insecure: true}
        models: [{name: llama3.2}]
        """)
    assert found == [
        "m.yaml:3:3: 'http://x' is not a registry host; write HOST[:PORT] as it appears in "
        "model names, e.g. registry.ollama.ai",
        "m.yaml:4:16: 'to' in 'mirrors.reg.io' must be HOST[:PORT][/PREFIX] without a scheme, "
        "e.g. mirror.corp:5000 or mirror.corp:5000/ollama (a prefix is one path segment: "
        "it takes the place of the namespace)",
        "m.yaml:4:33: unknown key 'insecur' in 'mirrors.reg.io' (did you mean 'insecure'?)",
        "m.yaml:5:3: registry 'Reg.IO' has a mirror already; keep one entry",
        "m.yaml:6:8: the mirror of 'a.b' is itself; name another registry",
        "m.yaml:7:8: 'c.d' in 'mirrors' must be HOST[:PORT][/PREFIX] without a scheme, "
        "e.g. mirror.corp:5000 or mirror.corp:5000/ollama (a prefix is one path segment: "
        "it takes the place of the namespace)",
        "m.yaml:8:8: missing key 'to' in 'mirrors.e.f'; add it, e.g. to: mirror.corp:5000",
    ]


def test_a_prefix_that_makes_two_models_one_name_is_refused(workdir: Path) -> None:
    found = problems("""\
        version: 1
        mirrors: {registry.ollama.ai: mirror.corp:5000/ollama}
        models:
          - name: llama3.2
          - name: someone/llama3.2
        """)
    assert found == [
        "m.yaml:5:11: 'someone/llama3.2' and 'llama3.2' (line 4) would both pull as "
        "mirror.corp:5000/ollama/llama3.2:latest from mirror mirror.corp:5000/ollama, whose "
        "prefix replaces the namespace; mirror them without a prefix"
    ]


def test_pulls_name_their_mirror_and_its_insecure_flag() -> None:
    plan = make_plan(manifest(spec("llama3.2"), spec("other.io/team/x")), server())
    pulls = [a for a in plan.actions if isinstance(a, Pull)]
    assert pulls[0].source == Source(
        parse_name("mirror.corp:5000/library/llama3.2:latest"), "mirror.corp:5000"
    )
    assert pulls[0].insecure is True  # the mirror's, not the model's
    assert pulls[1].source is None  # no mirror for other.io: pulls as today
    assert action_line(pulls[0]) == "  + pull   llama3.2:latest from mirror.corp:5000  (missing)"
    assert action_json(pulls[0])["from"] == "mirror.corp:5000"
    assert action_json(pulls[1])["from"] is None


def test_a_custom_models_missing_base_pulls_through_the_mirror_too() -> None:
    create = CreateSpec(from_="llama3.2")
    plan = make_plan(manifest(spec("bot", kind="custom", create=create)), server())
    base = next(a for a in plan.actions if isinstance(a, Pull))
    assert base.source is not None and base.source.registry == "mirror.corp:5000"


def test_drift_compares_with_the_mirrors_manifest() -> None:
    remote = RemoteManifest(parse_name("mirror.corp:5000/library/llama3.2"), "sha256:" + B, "", ())
    state = server(("llama3.2:latest", A))
    state = ServerState(state.version, state.models, remote={parse_name("llama3.2").key: remote})
    (pull,) = make_plan(manifest(spec("llama3.2")), state).actions
    assert isinstance(pull, Pull) and pull.drift.kind == "outdated" and pull.source is not None


def test_a_leftover_mirror_tag_is_deleted_once_the_canonical_model_is_there() -> None:
    leftover = ("mirror.corp:5000/library/llama3.2:latest", A)
    plan = make_plan(manifest(spec("llama3.2")), server(("llama3.2:latest", A), leftover))
    (delete,) = plan.actions
    assert isinstance(delete, Delete) and not delete.pruned
    assert delete.model.display == leftover[0]
    assert delete.drift.detail == "left over from a pull of llama3.2:latest through its mirror"
    assert plan.extras == ()


def test_a_leftover_tag_is_left_to_the_pull_while_the_canonical_model_is_missing() -> None:
    leftover = ("mirror.corp:5000/library/llama3.2:latest", A)
    plan = make_plan(manifest(spec("llama3.2")), server(leftover))
    assert [(a.kind, a.model.display) for a in plan.actions] == [("pull", "llama3.2:latest")]
    assert plan.extras == ()


def test_without_mirrors_the_mirror_named_model_is_just_extra() -> None:
    leftover = ("mirror.corp:5000/library/llama3.2:latest", A)
    plan = make_plan(
        manifest(spec("llama3.2"), mirrors={}), server(("llama3.2:latest", A), leftover)
    )
    assert plan.actions == ()
    assert [d.model.display for d in plan.extras] == [leftover[0]]


def test_failed_pulls_from_a_layout_say_why_in_its_terms() -> None:
    name = parse_name("llama3.2")
    source = Source(parse_name("127.0.0.1:4000/library/llama3.2"), "oci:/disk")
    pull = Pull(name, Drift("missing", name), insecure=True, source=source)
    refused = ServerError(
        "pulling 127.0.0.1:4000/library/llama3.2:latest from mirror oci:/disk: Get "
        '"http://127.0.0.1:4000/v2/": dial tcp 127.0.0.1:4000: connect: connection refused'
    )
    assert explain_source(refused, pull, source).startswith(
        "the Ollama server cannot reach 127.0.0.1:4000, where this apply serves oci:/disk: "
        "apply --from needs the server on this machine ("
    )
    missing = ServerError("pull model manifest: file does not exist")
    assert explain_source(missing, pull, source) == (
        "llama3.2:latest is not in oci:/disk: copy it there with "
        "`ollama-provision mirror FILE --to oci:/disk`"
    )
    altered = ServerError("digest mismatch, file must be downloaded again")
    assert explain_source(altered, pull, source, lambda: ["sha256:" + A]) == (
        f"blob sha256:{A} in oci:/disk does not match its digest (altered or damaged): "
        "copy the layout again; nothing was written"
    )
    assert explain_source(altered, pull, source, lambda: []) == altered.reason()
    mirror = Source(source.name, "mirror.corp:5000")  # a registry mirror: Ollama's words
    assert explain_source(refused, pull, mirror) == refused.reason()
