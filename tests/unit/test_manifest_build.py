"""Building a Manifest from checked data: no process-wide side effect (the secrets come
back in the result), and the one mirror-name collision rule both callers share."""

from __future__ import annotations

from pathlib import Path

from provisioner import secrets
from provisioner.manifest.findings import Findings
from provisioner.manifest.load import build_manifest
from provisioner.manifest.mirrors import shared_names
from provisioner.manifest.yaml_loader import compose, to_plain
from provisioner.names import parse_name
from provisioner.types.manifest import Mirror

TOKEN = "Bearer build-secret-7f3a"


def test_the_builder_returns_the_header_values_and_registers_nothing(tmp_path: Path) -> None:
    text = f"version: 1\nserver:\n  headers:\n    Authorization: {TOKEN}\nmodels:\n  - name: x\n"
    root = compose(text, "m.yaml").root
    assert root is not None
    data = to_plain(root)
    secrets.clear()
    built = build_manifest(Findings("m.yaml", root, data), data, text, tmp_path / "m.yaml")
    assert built.secrets == (TOKEN,)
    assert built.manifest.server.headers == {"Authorization": TOKEN}
    assert secrets.mask(TOKEN) == TOKEN  # the caller registers them, not the builder


def test_shared_names_finds_two_models_on_one_prefixed_name() -> None:
    names = [parse_name(n) for n in ("library/tiny", "team/tiny", "other", "TEAM/Tiny")]
    into = Mirror("", "m:5000", "ollama", False)
    assert shared_names(names, lambda _: into) == [(0, 1), (0, 3)]  # each against the first
    # the same model twice (any spelling) is no collision; no mirror, nothing to compare
    assert shared_names([names[1], names[3]], lambda _: into) == []
    assert shared_names(names, lambda _: None) == []
    keep_namespace = Mirror("", "m:5000", None, False)
    assert shared_names(names, lambda _: keep_namespace) == []
