"""The copy engine between two layouts on disk: order, dedupe, resume, failures alone."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from provisioner.errors import BadAnswer
from provisioner.mirror.copy import manifest_blobs, mirror
from provisioner.mirror.endpoints import LayoutDestination, LayoutSource
from provisioner.mirror.layout import Descriptor, Entry, Layout
from provisioner.mirror.remote import FetchedManifest
from provisioner.mirror.select import Wanted
from provisioner.mirror.verify import sha256_digest
from provisioner.names import parse_name
from provisioner.server.retry import NO_RETRY
from provisioner.views.json_docs import mirror_document
from provisioner.views.mirror import mirror_lines

ROOT = Path(__file__).resolve().parents[2]
MEDIA = "application/vnd.docker.distribution.manifest.v2+json"


def _add_model(layout: Layout, name: str, blobs: list[bytes]) -> None:
    """Put a model with these blobs (the first is its config) into a layout."""
    described: list[dict[str, object]] = []
    for data in blobs:
        digest = sha256_digest(data)
        layout.write_blob(digest, [data], len(data))
        described.append({"mediaType": "x", "digest": digest, "size": len(data)})
    doc = {"schemaVersion": 2, "mediaType": MEDIA, "config": described[0], "layers": described[1:]}
    raw = json.dumps(doc).encode()
    digest = sha256_digest(raw)
    layout.write_bytes(digest, raw)
    layout.record([Entry(parse_name(name), Descriptor(MEDIA, digest, len(raw)))])


@pytest.fixture
def source(tmp_path: Path) -> Layout:
    layout = Layout.create(tmp_path / "src")
    _add_model(layout, "a", [b"config-a", b"shared-weights" * 1000, b"template"])
    _add_model(layout, "b:1", [b"config-b", b"shared-weights" * 1000])
    return layout


def _wanted(*names: str) -> list[Wanted]:
    return [Wanted(parse_name(n), False) for n in names]


def test_copies_every_blob_once_and_the_manifests_last(source: Layout, tmp_path: Path) -> None:
    dest = Layout.create(tmp_path / "dst")
    report = mirror(_wanted("a", "b:1"), LayoutSource(source), LayoutDestination(dest), parallel=3)
    assert [m.status for m in report.models] == ["copied", "copied"]
    assert report.total("blobs_copied") == 4  # 5 blob uses, the shared one sent once
    assert report.total("blobs_skipped") == 1
    assert {k: e.manifest.digest for k, e in dest.entries().items()} == {
        k: e.manifest.digest for k, e in source.entries().items()
    }
    jsonschema.validate(
        mirror_document(report), json.loads((ROOT / "schemas/output.schema.json").read_text())
    )

    again = mirror(_wanted("a", "b:1"), LayoutSource(source), LayoutDestination(dest))
    assert [m.status for m in again.models] == ["up to date", "up to date"]
    assert again.total("bytes_copied") == 0
    assert "0 blobs copied (0 B), 5 skipped" in mirror_lines(again)[-1]


def test_a_corrupt_blob_fails_its_model_only_and_leaves_it_out(
    source: Layout, tmp_path: Path
) -> None:
    template = sha256_digest(b"template")
    source.blob_path(template).write_bytes(b"tampered")
    dest = Layout.create(tmp_path / "dst")
    events: list[str] = []
    report = mirror(
        _wanted("a", "b:1"),
        LayoutSource(source),
        LayoutDestination(dest),
        retry=NO_RETRY,
        on_progress=lambda e: events.append(e.status),
    )
    a, b = report.models
    assert a.status == "failed" and a.error is not None and template in a.error
    assert b.status == "copied"
    assert set(dest.entries()) == {parse_name("b:1").key}  # no manifest for the failed one
    assert not dest.has_blob(template)
    assert not list(dest.root.rglob("*.tmp"))
    lines = mirror_lines(report)
    assert any(line.startswith("  FAILED a:latest: ") for line in lines)
    assert "1 FAILED" in lines[-1]


def test_a_model_the_layout_lacks_is_named(source: Layout, tmp_path: Path) -> None:
    report = mirror(
        _wanted("zzz"), LayoutSource(source), LayoutDestination(Layout.create(tmp_path / "d"))
    )
    assert report.models[0].error is not None
    assert "holds no zzz:latest" in report.models[0].error


def test_manifest_blobs_checks_every_descriptor() -> None:
    good = {"config": {"digest": "sha256:" + "a" * 64, "size": 1}, "layers": []}
    raw = json.dumps(good).encode()
    assert manifest_blobs(FetchedManifest(raw, MEDIA, sha256_digest(raw)), "here")[0].size == 1
    bad = json.dumps({"layers": [{"digest": "md5:x", "size": 1}]}).encode()
    with pytest.raises(BadAnswer, match="bad blob md5:x"):
        manifest_blobs(FetchedManifest(bad, MEDIA, sha256_digest(bad)), "here")
