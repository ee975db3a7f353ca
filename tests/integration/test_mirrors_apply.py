"""Pulling through a mirror (`mirrors:`) and from a layout (`apply --from oci:`), against
real registries and real Ollama servers.

A dedicated source registry is filled from the session's seed server, a second
registry holds copies of the same models, and the source is then stopped: a fresh
server that applies with `mirrors:` can only get its models from the copy, and must
end up with the canonical names and the source's digests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.mirror.layout import Descriptor, Entry, Layout
from provisioner.names import parse_name
from provisioner.server.registry import RemoteManifest, fetch_manifest
from tests.integration.cli_runner import Run, run_cli
from tests.testbed.build import PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.registry import Registry, start_registry
from tests.testbed.seed import create_local

# Two plain models, and one sharing tiny's weights (its own SYSTEM layer and config).
MODELS = ("library/tiny:latest", "team/tiny:v1", "library/tiny-sys:latest")
SEEDS = {"library/tiny:latest": 0, "team/tiny:v1": 2}


@dataclass
class Bed:
    source: Registry  # stopped once filled
    mirror: Registry
    digests: dict[str, RemoteManifest]  # source manifests, by repository:tag
    layout: Path  # `mirror --to oci:` of every model, from the source

    def canonical(self, model: str) -> str:
        return f"{self.source.host}/{model}"

    def on_mirror(self, model: str) -> str:
        return f"{self.mirror.host}/{model}"


def _push(seed: OllamaServer, local: str, remote: str) -> None:
    seed.cli("cp", local, remote)
    seed.cli("push", "--insecure", remote)


def _declare(path: Path, host: str, *models: str) -> Path:
    lines = ["version: 1", "models:"]
    lines += [f"  - {{name: '{host}/{m}', insecure: true}}" for m in models]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def bed(registry: FilledRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    root = tmp_path_factory.mktemp("mirrors")
    source = start_registry(root / "source")
    mirror = start_registry(root / "mirror")
    seed = registry.seed_server
    try:
        for n in SEEDS.values():
            create_local(seed, f"seed-completion-{n}", "completion", n)
        modelfile = root / "sys.Modelfile"
        modelfile.write_text("FROM seed-completion-0\nSYSTEM You are tiny.\n")
        seed.cli("create", "seed-sys", "-f", str(modelfile))
        locals_ = {**{m: f"seed-completion-{n}" for m, n in SEEDS.items()}, MODELS[2]: "seed-sys"}
        digests = {}
        for model, local in locals_.items():
            _push(seed, local, f"{source.host}/{model}")
            digests[model] = fetch_manifest(parse_name(f"{source.host}/{model}"), insecure=True)
        # The copies: the mirror command, to a registry and onto a disk.
        declared = str(_declare(root / "all.yaml", source.host, *MODELS))
        for to in ([mirror.host, "--to-insecure"], [f"oci:{root / 'layout'}"]):
            copied = run_cli("mirror", declared, "--to", *to)
            assert copied.code == 0, copied.out + copied.err
        source.stop()  # from here on only the copies serve these models
        yield Bed(source, mirror, digests, root / "layout")
    finally:
        source.stop()
        mirror.stop()


def manifest(tmp_path: Path, bed: Bed, *models: str, short: bool = False) -> Path:
    entry = f"{bed.mirror.host}" if short else f"{{to: '{bed.mirror.host}', insecure: true}}"
    lines = ["version: 1", "mirrors:", f"  '{bed.source.host}': {entry}", "models:"]
    lines += [f"  - {{name: '{bed.canonical(m)}', insecure: true}}" for m in models]
    path = tmp_path / "models.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(server: OllamaServer, *args: str) -> Run:
    return run_cli(*args, env={"OLLAMA_HOST": server.url})


def registry_manifest(host: str, model: str) -> dict[str, Any]:
    repository, tag = model.split(":")
    url = f"http://{host}/v2/{repository}/manifests/{tag}"
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    doc: dict[str, Any] = httpx.get(url, headers=accept, timeout=30).json()
    return doc


def blob_sizes(doc: dict[str, Any]) -> dict[str, int]:
    """{digest: size} of the config and every layer of a registry manifest."""
    return {p["digest"]: p["size"] for p in [doc["config"], *doc["layers"]]}


def test_apply_through_the_mirror_with_the_source_down(
    ollama: OllamaServer, bed: Bed, tmp_path: Path
) -> None:
    models = MODELS[:2]
    path = manifest(tmp_path, bed, *models)

    planned = cli(ollama, "plan", str(path))
    assert planned.code == 0, planned.err
    for m in models:
        assert f"pull   {bed.canonical(m)} from {bed.mirror.host}" in planned.out
    as_json = json.loads(cli(ollama, "-o", "json", "plan", str(path)).out)
    pulls = {a["model"]: a for a in as_json["actions"]}
    for m in models:
        full = sum(blob_sizes(registry_manifest(bed.mirror.host, m)).values())
        assert pulls[bed.canonical(m)]["from"] == bed.mirror.host
        assert pulls[bed.canonical(m)]["download_bytes"] == full  # an empty server lacks all
    assert as_json["download_bytes"] == sum(a["download_bytes"] for a in pulls.values())

    applied = cli(ollama, "apply", str(path))
    assert applied.code == 0, applied.out + applied.err
    tags = ollama.tags()
    assert sorted(tags) == sorted(bed.canonical(m) for m in models)  # no mirror-named tag
    for m in models:
        assert bed.digests[m].matches(tags[bed.canonical(m)]), m

    drift = cli(ollama, "drift", "--check-updates", str(path))
    assert drift.code == 0, drift.out + drift.err
    before = len(ollama.settled_requests())
    again = cli(ollama, "apply", str(path))
    assert again.code == 0 and "in sync" in again.out, again.out
    assert [r for r in ollama.settled_requests()[before:] if r[2] != "/api/version"] == [
        (200, "GET", "/api/tags")
    ]


def test_plan_counts_only_the_blobs_the_server_lacks(
    ollama: OllamaServer, bed: Bed, tmp_path: Path
) -> None:
    first = cli(ollama, "apply", str(manifest(tmp_path, bed, MODELS[0], short=True)))
    assert first.code != 0  # short form: not insecure, and the mirror speaks plain http
    assert "on its mirror" in first.out + first.err
    assert cli(ollama, "apply", str(manifest(tmp_path, bed, MODELS[0]))).code == 0

    have = blob_sizes(registry_manifest(bed.mirror.host, MODELS[0]))
    wanted = blob_sizes(registry_manifest(bed.mirror.host, MODELS[2]))
    shared = set(have) & set(wanted)
    assert shared  # the weights: "missing" matters
    missing = sum(n for d, n in wanted.items() if d not in have)
    assert missing < sum(wanted.values())

    path = manifest(tmp_path, bed, MODELS[0], MODELS[2])
    as_json = json.loads(cli(ollama, "-o", "json", "plan", str(path)).out)
    (pull,) = as_json["actions"]
    assert pull["download_bytes"] == missing
    assert as_json["download_bytes"] == missing
    assert cli(ollama, "apply", str(path)).code == 0
    assert bed.digests[MODELS[2]].matches(ollama.tags()[bed.canonical(MODELS[2])])


def test_a_rerun_cleans_up_what_a_stopped_pull_left(
    ollama: OllamaServer, bed: Bed, tmp_path: Path
) -> None:
    path = manifest(tmp_path, bed, MODELS[0])
    canonical, copy = bed.canonical(MODELS[0]), bed.on_mirror(MODELS[0])

    # Stopped after the pull, before the copy: the next apply copies and deletes.
    ollama.cli("pull", "--insecure", copy)
    assert sorted(ollama.tags()) == [copy]
    planned = cli(ollama, "plan", str(path))
    assert f"pull   {canonical} from {bed.mirror.host}" in planned.out
    assert "  - delete" not in planned.out
    assert cli(ollama, "apply", str(path)).code == 0
    assert sorted(ollama.tags()) == [canonical]

    # Stopped after the copy, before the delete: the next apply deletes the leftover.
    ollama.cli("pull", "--insecure", copy)
    planned = cli(ollama, "plan", str(path))
    assert (
        f"delete {copy}  (left over from a pull of {canonical} through its mirror)" in planned.out
    )
    assert cli(ollama, "drift", str(path)).code == 3
    assert cli(ollama, "apply", str(path)).code == 0
    assert sorted(ollama.tags()) == [canonical]
    assert cli(ollama, "drift", str(path)).code == 0


def write_layout(folder: Path, bed: Bed, *models: str) -> Layout:
    """An OCI layout holding `models` under their canonical names, read from the mirror
    registry byte for byte (what `mirror --to oci:` writes)."""
    layout = Layout.create(folder)
    entries = []
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    with httpx.Client(follow_redirects=True, timeout=60) as client:
        for m in models:
            repository, tag = m.split(":")
            base = f"http://{bed.mirror.host}/v2/{repository}"
            answer = client.get(f"{base}/manifests/{tag}", headers=accept)
            raw = answer.content
            digest = "sha256:" + hashlib.sha256(raw).hexdigest()
            for blob, size in blob_sizes(answer.json()).items():
                data = client.get(f"{base}/blobs/{blob}").content
                layout.write_blob(blob, [data], size)
            layout.write_bytes(digest, raw)
            media = answer.headers["content-type"]
            entries.append(Entry(parse_name(bed.canonical(m)), Descriptor(media, digest, len(raw))))
    layout.record(entries)
    return layout


def from_layout(tmp_path: Path, bed: Bed, *models: str) -> Path:
    """A manifest of canonical names only: no mirrors, the source registry is down."""
    return _declare(tmp_path / "site.yaml", bed.source.host, *models)


def test_apply_from_a_layout_matches_a_connected_pull(
    ollama: OllamaServer, bed: Bed, tmp_path: Path
) -> None:
    folder = bed.layout  # written by `mirror --to oci:` from the source
    path = from_layout(tmp_path, bed, *MODELS)

    applied = cli(ollama, "apply", "--from", f"oci:{folder}", str(path))
    assert applied.code == 0, applied.out + applied.err
    for m in MODELS:
        assert f"pull   {bed.canonical(m)} from oci:{folder}" in applied.out
    tags = ollama.tags()
    assert sorted(tags) == sorted(bed.canonical(m) for m in MODELS)
    for m in MODELS:
        assert bed.digests[m].matches(tags[bed.canonical(m)]), m

    # The same models pulled from a registry (the mirror, canonical names kept) on
    # another fresh server: the same names and the same /api/tags digests.
    connected = start_server(PINNED, tmp_path / "connected")
    try:
        assert cli(connected, "apply", str(manifest(tmp_path, bed, *MODELS))).code == 0
        assert connected.tags() == tags
    finally:
        connected.stop()

    again = cli(ollama, "apply", "--from", f"oci:{folder}", str(path))
    assert again.code == 0 and "in sync" in again.out, again.out
    assert cli(ollama, "drift", str(path)).code == 0  # no leftover loopback tag either


def test_apply_from_a_layout_refuses_an_altered_blob_and_a_missing_model(
    ollama: OllamaServer, bed: Bed, tmp_path: Path
) -> None:
    folder = tmp_path / "layout"
    layout = write_layout(folder, bed, MODELS[0])
    weights = max(
        blob_sizes(registry_manifest(bed.mirror.host, MODELS[0])).items(), key=lambda b: b[1]
    )
    blob = layout.blob_path(weights[0])
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    blob.write_bytes(bytes(data))

    altered = cli(
        ollama, "apply", "--from", f"oci:{folder}", str(from_layout(tmp_path, bed, MODELS[0]))
    )
    assert altered.code == 1
    assert (
        f"blob {weights[0]} in oci:{folder} does not match its digest" in altered.out + altered.err
    )
    assert ollama.tags() == {}  # nothing half-written: no model, no loopback tag

    missing = cli(
        ollama, "apply", "--from", f"oci:{folder}", str(from_layout(tmp_path, bed, MODELS[1]))
    )
    assert missing.code == 1
    assert f"{bed.canonical(MODELS[1])} is not in oci:{folder}" in missing.out + missing.err
    assert ollama.tags() == {}
