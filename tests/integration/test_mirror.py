"""`mirror` against real registries (issue 14, part 1): registry to registry, to an OCI
layout and back into an empty registry, resume after a kill, tampering, basic auth.

The destination registries sit behind the test bed's logging proxy, so the bytes a
registry received are counted from its access log, not from what the tool says.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from tests.integration.cli_runner import Run, run_cli
from tests.testbed.build import ensure_go_tool
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.registry import LoggedRequest, Registry, start_registry

ROOT = Path(__file__).resolve().parents[2]
ACCEPT = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
# What the manifest declares, and the base its custom model is built FROM.
DECLARED = [("library/tiny", "latest"), ("library/tiny-embed", "latest"), ("team/tiny", "v1")]
BASE = ("library/tiny", "v2")
ALL = [*DECLARED, BASE]


@pytest.fixture
def new_registry(tmp_path: Path) -> Iterator[Registry]:
    registry = start_registry(tmp_path / "dest", log_requests=True)
    try:
        yield registry
    finally:
        registry.stop()


def _manifest(tmp_path: Path, host: str, extra: tuple[tuple[str, str], ...] = ()) -> Path:
    lines = ["version: 1", "models:"]
    for repo, tag in (*DECLARED, *extra):
        lines += [f"  - name: {host}/{repo}:{tag}", "    insecure: true"]
    lines += [
        "  - name: tiny-helper",
        f"    from: {host}/{BASE[0]}:{BASE[1]}",
        "    insecure: true",
        "    system: You help.",
    ]
    path = tmp_path / "models.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def crane_digest(host: str, repo: str, tag: str) -> str:
    crane = ensure_go_tool("crane")
    out = subprocess.run(
        [str(crane), "digest", "--insecure", f"{host}/{repo}:{tag}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def blob_sizes(
    host: str, repo: str, tag: str, auth: tuple[str, str] | None = None
) -> dict[str, int]:
    """Every blob a model's manifest names (config and layers), by digest."""
    doc = httpx.get(f"http://{host}/v2/{repo}/manifests/{tag}", headers=ACCEPT, auth=auth).json()
    return {p["digest"]: p["size"] for p in [doc["config"], *doc["layers"]]}


def uploads(registry: Registry, since: int = 0) -> list[LoggedRequest]:
    """The blob uploads the registry committed (PUT answered 201) after request `since`."""
    return [r for r in registry.requests()[since:] if r.blob_upload and r.status == 201]


def _schema_check(out: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out)
    schema = json.loads((ROOT / "schemas" / "output.schema.json").read_text())
    jsonschema.validate(doc, schema)
    return doc


def test_registry_to_registry_preserves_every_digest_and_a_rerun_sends_nothing(
    registry: FilledRegistry, new_registry: Registry, tmp_path: Path
) -> None:
    path = _manifest(tmp_path, registry.host)
    first = run_cli("mirror", str(path), "--to", new_registry.host, "--to-insecure", "-o", "json")
    assert first.code == 0, first.err
    doc = _schema_check(first.out)

    for repo, tag in ALL:
        source = crane_digest(registry.host, repo, tag)
        assert crane_digest(new_registry.host, repo, tag) == source, (repo, tag)
    assert {m["model"] for m in doc["models"]} == {
        f"{registry.host}/{repo}:{tag}" for repo, tag in ALL
    }
    sent = uploads(new_registry)
    unique: dict[str, int] = {}
    for repo, tag in ALL:
        unique |= blob_sizes(registry.host, repo, tag)
    # Every blob arrived once, whole.
    assert sorted(r.digest or "" for r in sent) == sorted(unique)
    assert sum(r.body_bytes for r in sent) == sum(unique.values())
    totals = doc["totals"]
    assert totals["bytes_copied"] == sum(unique.values())

    before = len(new_registry.requests())
    again = run_cli("mirror", str(path), "--to", new_registry.host, "--to-insecure")
    assert again.code == 0, again.err
    assert uploads(new_registry, before) == []
    assert [r for r in new_registry.requests()[before:] if r.method in ("PUT", "PATCH")] == []
    assert again.out.count("up to date;") == len(ALL), again.out
    assert "0 blobs copied (0 B)" in again.out


def test_a_blob_another_repository_holds_is_mounted_not_sent(
    registry: FilledRegistry, new_registry: Registry, tmp_path: Path
) -> None:
    # A second repository holding the very same blobs (what `ollama cp` + push makes).
    tiny = registry.name("library/tiny")
    repo = f"mount/tiny-{uuid.uuid4().hex[:8]}"
    copy = registry.name(repo)
    registry.seed_server.cli("cp", tiny, copy)
    registry.seed_server.cli("push", "--insecure", copy)
    path = tmp_path / "models.yaml"
    path.write_text(
        f"version: 1\nmodels:\n  - name: {tiny}\n    insecure: true\n"
        f"  - name: {copy}\n    insecure: true\n"
    )
    run = run_cli(
        "mirror", str(path), "--to", new_registry.host, "--to-insecure", "--parallel", "1",
        "-o", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    totals = _schema_check(run.out)["totals"]
    blobs = blob_sizes(registry.host, "library/tiny", "latest")
    assert blob_sizes(registry.host, repo, "latest") == blobs
    requests = new_registry.requests()
    # Each blob's bytes were sent once; the second repository got them by a mount
    # (an upload POST the registry answers 201 Created instead of 202 Accepted).
    assert sorted(r.digest or "" for r in uploads(new_registry)) == sorted(blobs)
    mounts = [r for r in requests if r.method == "POST" and r.status == 201]
    assert len(mounts) == len(blobs) and all(f"/v2/{repo}/" in r.path for r in mounts)
    assert totals["blobs_mounted"] == len(blobs)
    assert totals["bytes_mounted"] == sum(blobs.values())
    assert totals["bytes_copied"] == sum(blobs.values())
    assert crane_digest(new_registry.host, repo, "latest") == crane_digest(
        registry.host, repo, "latest"
    )


def test_layout_round_trip_into_an_empty_registry(
    registry: FilledRegistry, new_registry: Registry, tmp_path: Path
) -> None:
    path = _manifest(tmp_path, registry.host)
    layout = tmp_path / "disk"
    to_disk = run_cli("mirror", str(path), "--to", f"oci:{layout}")
    assert to_disk.code == 0, to_disk.err
    index = json.loads((layout / "index.json").read_text())
    names = {m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]}
    assert names == {f"{registry.host}/{repo}:{tag}" for repo, tag in ALL}
    for entry in index["manifests"]:
        repo, tag = (
            entry["annotations"]["org.opencontainers.image.ref.name"].split("/", 1)[1].split(":")
        )
        assert entry["digest"] == crane_digest(registry.host, repo, tag)
    assert not [p for p in layout.rglob("*.tmp")]

    up = run_cli("mirror", "--from", f"oci:{layout}", "--to", new_registry.host, "--to-insecure")
    assert up.code == 0, up.err
    for repo, tag in ALL:
        assert crane_digest(new_registry.host, repo, tag) == crane_digest(registry.host, repo, tag)
    assert uploads(new_registry)

    before = len(new_registry.requests())
    again = run_cli("mirror", "--from", f"oci:{layout}", "--to", new_registry.host, "--to-insecure")
    assert again.code == 0, again.err
    assert uploads(new_registry, before) == []
    assert "0 blobs copied" in again.out


def test_a_killed_mirror_resumes_sending_only_what_was_missing(
    registry: FilledRegistry, large_model: str, new_registry: Registry, tmp_path: Path
) -> None:
    path = _manifest(tmp_path, registry.host, extra=(("library/big", "latest"),))
    wanted = [*ALL, ("library/big", "latest")]
    blobs: dict[str, int] = {}
    for repo, tag in wanted:
        blobs |= blob_sizes(registry.host, repo, tag)
    # The source serves blobs at the test bed's throttled rate: the 200 MB layer takes
    # seconds, so the tool is killed while it is on the wire.
    args = ["mirror", str(path), "--to", new_registry.host, "--to-insecure", "--parallel", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    uploading = new_registry.storage / "docker" / "registry" / "v2" / "repositories"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in uploading.rglob("_uploads/*/data") if p.stat().st_size > 20_000_000]
        if partial and uploads(new_registry):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the mirror finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    present = {d for d in blobs if _has_blob(new_registry, wanted, d)}
    missing = {d: s for d, s in blobs.items() if d not in present}
    assert present and missing, (present, missing)
    big = httpx.head(f"http://{new_registry.host}/v2/library/big/manifests/latest", headers=ACCEPT)
    assert big.status_code == 404  # a model appears only when whole

    before = len(new_registry.requests())
    rerun = run_cli(*args)
    assert rerun.code == 0, rerun.err
    sent = uploads(new_registry, before)
    assert sorted(r.digest or "" for r in sent) == sorted(missing)
    assert sum(r.body_bytes for r in sent) == sum(missing.values())
    for repo, tag in wanted:
        assert crane_digest(new_registry.host, repo, tag) == crane_digest(registry.host, repo, tag)


def _has_blob(registry: Registry, models: list[tuple[str, str]], digest: str) -> bool:
    repos = {repo for repo, _ in models}
    return any(
        httpx.head(f"http://{registry.host}/v2/{repo}/blobs/{digest}").status_code in (200, 307)
        for repo in repos
    )


def test_a_tampered_layout_blob_is_refused_and_nothing_is_committed(
    registry: FilledRegistry, new_registry: Registry, tmp_path: Path
) -> None:
    name = registry.name("library/tiny", "latest")
    path = tmp_path / "one.yaml"
    path.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
    layout = tmp_path / "disk"
    assert run_cli("mirror", str(path), "--to", f"oci:{layout}").code == 0
    sizes = blob_sizes(registry.host, "library/tiny", "latest")
    weights = max(sizes, key=lambda d: sizes[d])
    blob = layout / "blobs" / "sha256" / weights.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))

    result = run_cli(
        "mirror", "--from", f"oci:{layout}", "--to", new_registry.host, "--to-insecure"
    )
    assert result.code == 1
    assert weights in result.out + result.err
    assert "corrupt" in result.out + result.err
    assert "Traceback" not in result.err
    url = f"http://{new_registry.host}/v2/library/tiny"
    assert httpx.head(f"{url}/manifests/latest", headers=ACCEPT).status_code == 404
    assert httpx.head(f"{url}/blobs/{weights}").status_code == 404
    assert not [r for r in uploads(new_registry) if r.digest == weights]


def _docker_config(folder: Path, host: str, user: str, password: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return folder


def test_basic_auth_from_a_docker_config_and_the_password_is_never_shown(
    registry: FilledRegistry, tmp_path: Path
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    private = start_registry(
        tmp_path / "private", credentials=("mirror-user", password), log_requests=True
    )
    try:
        name = registry.name("library/tiny", "latest")
        path = tmp_path / "one.yaml"
        path.write_text(f"version: 1\nmodels:\n  - name: {name}\n    insecure: true\n")
        cache = tmp_path / "cache"
        env = {"OLLAMA_PROVISION_CACHE": str(cache), "HOME": str(tmp_path / "home")}
        runs: list[Run] = []

        # Without credentials: one clear line, exit 1, nothing sent.
        empty = tmp_path / "no-login"
        empty.mkdir()
        refused = run_cli(
            "mirror",
            str(path),
            "--to",
            private.host,
            "--to-insecure",
            env={**env, "DOCKER_CONFIG": str(empty)},
        )
        runs.append(refused)
        assert refused.code == 1
        lines = refused.err.strip().splitlines()
        assert len(lines) == 1, refused.err
        assert "requires authentication" in lines[0] and "docker login" in lines[0]
        assert uploads(private) == []

        # A wrong password: one line naming the user and where the credentials came from.
        wrong = _docker_config(tmp_path / "wrong", private.host, "mirror-user", password + "x")
        bad = run_cli(
            "mirror",
            str(path),
            "--to",
            private.host,
            "--to-insecure",
            env={**env, "DOCKER_CONFIG": str(wrong)},
        )
        runs.append(bad)
        assert bad.code == 1 and "refused the credentials for user mirror-user" in bad.err

        login = _docker_config(tmp_path / "login", private.host, "mirror-user", password)
        env["DOCKER_CONFIG"] = str(login)
        ok = run_cli(
            "mirror", str(path), "--to", private.host, "--to-insecure", "-o", "json", env=env
        )
        runs.append(ok)
        assert ok.code == 0, ok.err
        auth = ("mirror-user", password)
        got = httpx.head(
            f"http://{private.host}/v2/library/tiny/manifests/latest", headers=ACCEPT, auth=auth
        )
        assert got.headers["docker-content-digest"] == crane_digest(
            registry.host, "library/tiny", "latest"
        )

        # And from the private registry onto disk: credentials on the source side.
        layout = tmp_path / "disk"
        private_name = f"{private.host}/library/tiny:latest"
        path2 = tmp_path / "two.yaml"
        path2.write_text(f"version: 1\nmodels:\n  - name: {private_name}\n    insecure: true\n")
        down = run_cli("mirror", str(path2), "--to", f"oci:{layout}", "-v", env=env)
        runs.append(down)
        assert down.code == 0, down.err

        # plan's and lock's registry reads use the same credentials.
        locked = run_cli("lock", str(path2), "-o", "json", env=env)
        runs.append(locked)
        assert locked.code == 0, locked.err
        lock = json.loads((tmp_path / "two.lock.json").read_text())
        assert lock["registry"] == {private_name: got.headers["docker-content-digest"]}

        for run in runs:
            assert password not in run.out + run.err
        # Every file the runs wrote: the layouts, the cache, HOME, the lock beside the manifest.
        written = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent not in (login, wrong)]
        written = [p for p in written if private.workdir not in p.parents]
        assert any(p.parent == layout for p in written)
        for file in written:
            assert password.encode() not in file.read_bytes(), file
    finally:
        private.stop()
