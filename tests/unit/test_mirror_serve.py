"""The loopback registry `apply --from oci:` serves a layout with: the reads a pull makes,
the redirect to another host name, ranges, and what it refuses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from provisioner.mirror.layout import Descriptor, Entry, Layout
from provisioner.mirror.serve import serve_layout
from provisioner.names import parse_name

MEDIA = "application/vnd.docker.distribution.manifest.v2+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layout_with_one_model(root: Path) -> tuple[str, bytes, str]:
    """A layout holding reg.io:5000/library/tiny:latest; returns (blob digest, blob,
    manifest digest)."""
    layout = Layout.create(root)
    blob = bytes(range(256)) * 40
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": MEDIA, "layers": [{"digest": sha(blob)}]}
    ).encode()
    layout.write_bytes(sha(blob), blob)
    layout.write_bytes(sha(manifest), manifest)
    name = parse_name("reg.io:5000/library/tiny:latest")
    layout.record([Entry(name, Descriptor(MEDIA, sha(manifest), len(manifest)))])
    return sha(blob), blob, sha(manifest)


def test_serves_manifests_and_blobs_the_way_ollama_pulls(tmp_path: Path) -> None:
    digest, blob, manifest = layout_with_one_model(tmp_path)
    with serve_layout(tmp_path, ["other.io"]) as served, httpx.Client(timeout=10) as client:
        assert set(served.mirrors) == {"reg.io:5000", "other.io"}
        mirror = served.mirrors["reg.io:5000"]
        assert mirror.where == f"oci:{tmp_path}" and mirror.insecure
        base = f"http://{mirror.host}/v2/library/tiny"
        assert client.get(f"http://{mirror.host}/v2/").status_code == 200

        by_tag = client.get(f"{base}/manifests/latest")
        assert by_tag.headers["docker-content-digest"] == manifest
        assert sha(by_tag.content) == manifest
        assert client.get(f"{base}/manifests/{manifest}").content == by_tag.content
        assert client.head(f"{base}/blobs/{digest}").headers["content-length"] == str(len(blob))

        first = client.get(f"{base}/blobs/{digest}")  # Ollama reads the redirect's Location
        assert first.status_code == 307
        port = mirror.host.split(":")[1]
        assert (
            first.headers["location"] == f"http://localhost:{port}/v2/library/tiny/blobs/{digest}"
        )
        there = first.headers["location"]
        assert client.get(there).content == blob
        part = client.get(there, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == blob[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(blob)}"
        beyond = client.get(there, headers={"Range": f"bytes={len(blob)}-"})
        assert beyond.status_code == 416

        assert client.get(f"{base}/manifests/v2").status_code == 404
        assert (
            client.get(f"http://{mirror.host}/v2/library/other/manifests/latest").status_code == 404
        )
        assert client.get(f"{base}/blobs/sha256:{'0' * 64}").status_code == 404
        assert client.get(f"{base}/blobs/..%2F..%2Foci-layout").status_code == 404
        empty = served.mirrors["other.io"]  # a manifest's registry the layout lacks
        missing = client.get(f"http://{empty.host}/v2/library/tiny/manifests/latest")
        assert missing.status_code == 404 and "is not in oci:" in missing.text
        assert served.check_served() == []  # what was sent matches its digest
    try:
        httpx.get(f"http://{mirror.host}/v2/", timeout=2)
    except httpx.ConnectError:
        pass  # stopped with the block
    else:
        raise AssertionError("the loopback registry outlived its apply")


def test_check_served_names_an_altered_blob(tmp_path: Path) -> None:
    digest, blob, _ = layout_with_one_model(tmp_path)
    (tmp_path / "blobs" / "sha256" / digest[7:]).write_bytes(blob[::-1])  # same size
    with serve_layout(tmp_path) as served:
        host = served.mirrors["reg.io:5000"].host
        url = f"http://localhost:{host.split(':')[1]}/v2/library/tiny/blobs/{digest}"
        httpx.get(url, timeout=10)
        assert served.check_served() == [digest]
