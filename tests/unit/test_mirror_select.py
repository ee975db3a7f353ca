"""Which models a manifest needs at a mirror."""

from __future__ import annotations

from pathlib import Path

from provisioner.manifest.load import load_manifest
from provisioner.mirror.select import models_to_mirror


def test_registry_models_then_undeclared_bases_of_custom_models(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        """\
version: 1
models:
  - name: h:5000/library/tiny:latest
    insecure: true
  - name: helper
    from: h:5000/library/tiny:v2
    insecure: true
  - name: second-helper
    from: helper
  - name: again
    from: h:5000/library/tiny:latest
  - name: old
    state: absent
  - name: qwen2.5:0.5b
    digest: sha256:a8b0c51577010a279d933d14c2a8ab4b268079d44c5c8830c0a93900f1827c67
"""
    )
    wanted = models_to_mirror(load_manifest(path))
    assert [(str(w.name), w.insecure, w.reason) for w in wanted] == [
        ("h:5000/library/tiny:latest", True, "declared"),
        ("qwen2.5:0.5b", False, "declared"),
        ("h:5000/library/tiny:v2", True, "base of helper:latest"),
    ]
    assert wanted[1].digest is not None and wanted[1].digest.endswith("827c67")
