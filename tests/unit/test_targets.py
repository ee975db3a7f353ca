"""--target narrows a manifest to some models and what they need."""

from pathlib import Path

import pytest

from provisioner.errors import UsageError
from provisioner.manifest.load import load_manifest
from provisioner.manifest.targets import select

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
