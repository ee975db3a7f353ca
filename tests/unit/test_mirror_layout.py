"""The OCI layout: index by canonical name, blobs verified on read and on write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.errors import DigestMismatch, UsageError
from provisioner.mirror.layout import REF_NAME, Descriptor, Entry, Layout
from provisioner.mirror.verify import sha256_digest
from provisioner.names import parse_name

MEDIA = "application/vnd.docker.distribution.manifest.v2+json"


def _blob(layout: Layout, data: bytes) -> str:
    digest = sha256_digest(data)
    layout.write_blob(digest, [data[:3], data[3:]], len(data))
    return digest


def test_create_writes_the_marker_and_an_index_by_canonical_name(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "l")
    manifest = _blob(layout, b'{"layers": []}')
    name = parse_name("127.0.0.1:5000/library/tiny:v2")
    layout.record([Entry(name, Descriptor(MEDIA, manifest, 14))])

    assert json.loads((tmp_path / "l" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    index = json.loads((tmp_path / "l" / "index.json").read_text())
    assert index["manifests"] == [
        {
            "mediaType": MEDIA,
            "digest": manifest,
            "size": 14,
            "annotations": {REF_NAME: "127.0.0.1:5000/library/tiny:v2"},
        }
    ]
    again = Layout.open(tmp_path / "l")
    assert again.find(parse_name("127.0.0.1:5000/LIBRARY/Tiny:v2")) == Entry(
        name, Descriptor(MEDIA, manifest, 14)
    )
    assert again.read_blob(manifest, 14) == b'{"layers": []}'


def test_record_replaces_a_model_by_name_and_keeps_the_others(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    a, b = parse_name("tiny"), parse_name("other:1")
    layout.record([Entry(a, Descriptor(MEDIA, sha256_digest(b"1"), 1))])
    layout.record([Entry(b, Descriptor(MEDIA, sha256_digest(b"2"), 1))])
    layout.record([Entry(a, Descriptor(MEDIA, sha256_digest(b"3"), 1))])
    entries = layout.entries()
    assert {e.manifest.digest for e in entries.values()} == {
        sha256_digest(b"2"),
        sha256_digest(b"3"),
    }
    assert entries[a.key].name.display == "tiny:latest"


def test_an_altered_blob_is_refused_naming_its_digest_before_its_last_chunk(
    tmp_path: Path,
) -> None:
    layout = Layout.create(tmp_path)
    digest = _blob(layout, b"x" * 3_000_000)
    path = layout.blob_path(digest)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))

    chunks = layout.open_blob(digest, 3_000_000)
    received = 0
    with pytest.raises(DigestMismatch, match=digest):
        for chunk in chunks:
            received += len(chunk)
    assert received < 3_000_000  # the consumer never saw the whole (bad) blob


def test_a_write_that_does_not_verify_leaves_no_file(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    digest = sha256_digest(b"good")
    with pytest.raises(DigestMismatch, match=digest):
        layout.write_blob(digest, [b"bad!"], 4)
    assert not layout.has_blob(digest)
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_size_is_checked_too(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    digest = sha256_digest(b"good")
    with pytest.raises(DigestMismatch, match="5 were declared"):
        layout.write_blob(digest, [b"good"], 5)


def test_a_folder_that_is_not_a_layout_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not an OCI image layout"):
        Layout.open(tmp_path)
    (tmp_path / "stray").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        Layout.create(tmp_path)
