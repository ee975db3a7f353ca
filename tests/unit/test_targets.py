"""--target and selectors narrow a manifest to some models and what they need."""

from pathlib import Path

import pytest

from provisioner.errors import UsageError
from provisioner.manifest.labels import describe, matches, selector_of
from provisioner.manifest.load import load_manifest
from provisioner.manifest.targets import for_labels, select
from provisioner.names import parse_name
from provisioner.reconcile.plan import keep_matches

MANIFEST = """\
version: 1
prune: {enabled: true}
models:
  - name: base
    aliases: [fast]
  - name: bot
    from: base
    system: Be brief.
  - name: other
  - name: old
    state: absent
"""


@pytest.mark.parametrize(
    ("targets", "kept"),
    [
        (["bot"], ["base:latest", "bot:latest"]),  # a custom model brings its declared base
        (["fast"], ["base:latest"]),  # an alias brings the model it copies
        (["OTHER:latest"], ["other:latest"]),  # names compare as Ollama compares them
        (["old", "other"], ["other:latest", "old:latest"]),  # in declaration order
    ],
)
def test_targets_keep_what_they_need(tmp_path: Path, targets: list[str], kept: list[str]) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(MANIFEST)
    narrowed = select(load_manifest(path), targets)
    assert [s.name.display for s in narrowed.models] == kept
    assert narrowed.prune.enabled is False


def test_an_undeclared_target_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(MANIFEST)
    with pytest.raises(UsageError) as err:
        select(load_manifest(path), ["base:v2"])
    assert str(err.value) == "--target base:v2: not declared in models.yaml"


FLEET = """\
version: 1
prune: {enabled: true, keep: ["team/*"]}
models:
  - name: base
    selector: {gpu: true}
    aliases: [fast]
  - name: bot
    from: base
    system: Be brief.
  - name: embed
  - name: big
    selector: {zone: [eu, us], gpu: "true"}
  - name: old
    state: absent
    selector: {zone: eu}
"""


@pytest.mark.parametrize(
    ("labels", "kept", "elsewhere"),
    [
        # gpu: true (a YAML boolean) and "true" (text) are the same label value
        ({"gpu": "true", "zone": "eu"}, ["base", "bot", "embed", "big", "old"], []),
        ({"gpu": "true"}, ["base", "bot", "embed"], ["big", "old"]),
        # a model for every server brings a base meant for gpu servers: it needs it
        ({}, ["base", "bot", "embed"], ["big", "old"]),
        ({"gpu": "false", "zone": "us"}, ["base", "bot", "embed"], ["big", "old"]),
    ],
)
def test_a_server_gets_the_models_its_labels_select_and_their_bases(
    tmp_path: Path, labels: dict[str, str], kept: list[str], elsewhere: list[str]
) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(FLEET)
    narrowed, left = for_labels(load_manifest(path), labels)
    assert [s.name.display.removesuffix(":latest") for s in narrowed.models] == kept
    assert [s.name.display.removesuffix(":latest") for s in left] == elsewhere
    assert narrowed.prune.enabled is True  # unlike --target, a server's own view prunes
    # what is meant elsewhere is never pruned here (names hold no glob characters)
    extra = ["big:latest"] if "big" in elsewhere else []
    assert narrowed.prune.keep == ("team/*", *extra)
    assert keep_matches(parse_name("big"), narrowed.prune.keep) is bool(extra)
    assert not keep_matches(parse_name("bigger"), narrowed.prune.keep)


def test_a_manifest_without_selectors_is_the_same_for_every_server(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(MANIFEST)
    manifest = load_manifest(path)
    assert for_labels(manifest, {"gpu": "true"}) == (manifest, ())


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"gpu": True}, {"gpu": "true"}, True),
        ({"gpu": "true"}, {}, False),
        ({"zone": ["eu", 3]}, {"zone": "3"}, True),
        ({"zone": ["eu"], "gpu": "true"}, {"zone": "eu"}, False),
    ],
)
def test_selector_matching(selector: object, labels: dict[str, str], expected: bool) -> None:
    assert matches(selector_of(selector), labels) is expected


def test_a_selector_is_described_in_a_fixed_order() -> None:
    assert describe(selector_of({"zone": ["us", "eu"], "gpu": True})) == (
        "gpu=true, zone in (eu, us)"
    )
