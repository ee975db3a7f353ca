"""The remembered in-sync verdict: which runs qualify, and what changes its key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from provisioner import noop


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["apply"], ("models.yaml", None, False)),
        (["apply", "m.yaml", "-q"], ("m.yaml", None, True)),
        (["apply", "--host", "http://h:1", "m.yaml"], ("m.yaml", "http://h:1", False)),
        (["apply", "--host=http://h:1"], ("models.yaml", "http://h:1", False)),
        (["apply", "m.yaml", "--dry-run"], None),  # any other option: the full pipeline
        (["apply", "-"], None),  # standard input cannot be read twice
        (["apply", "a.yaml", "b.yaml"], None),
        (["apply", "--host"], None),
        (["plan", "m.yaml"], None),
        (["--host", "x", "apply"], None),
    ],
)
def test_only_a_plain_apply_qualifies(argv: list[str], expected: object) -> None:
    assert noop._apply_args(argv) == expected


def _key(tmp_path: Path, text: bytes = b"version: 1\nmodels: []\n") -> str | None:
    manifest = tmp_path / "models.yaml"
    manifest.write_bytes(text)
    return noop._key(["apply", str(manifest)], manifest, text)


def test_the_key_follows_everything_the_verdict_depends_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("TOKEN", raising=False)
    base = _key(tmp_path)
    assert base is not None and _key(tmp_path) == base  # deterministic
    assert _key(tmp_path, b"version: 1\nmodels: [] \n") != base  # the manifest's bytes
    (tmp_path / "models.lock.json").write_text("{}")
    locked = _key(tmp_path)
    assert locked != base  # the lock beside it
    monkeypatch.setenv("OLLAMA_HOST", "http://elsewhere:1")
    assert _key(tmp_path) != locked  # the environment the host comes from
    with_var = b"version: 1\nmodels: [{name: '${TOKEN}'}]\n"
    before = _key(tmp_path, with_var)
    monkeypatch.setenv("TOKEN", "x")
    assert _key(tmp_path, with_var) != before  # a variable the manifest uses
    monkeypatch.setenv("UNRELATED", "y")
    assert _key(tmp_path, with_var) == _key(tmp_path, with_var)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert _key(tmp_path) is None  # a step summary is written: never replayed


def test_a_verdict_is_remembered_only_when_apply_said_it_qualifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_PROVISION_CACHE", str(tmp_path))
    monkeypatch.setattr(noop, "PENDING", noop._Pending("k" * 64))
    noop.remember([(1, "in sync\n")])
    assert not (tmp_path / "in-sync").exists()
    noop.qualifies("http://h:1", {"/api/tags": b"{}"})  # one answer is not both
    noop.remember([(1, "in sync\n")])
    assert not (tmp_path / "in-sync").exists()
    noop.qualifies("http://h:1", {"/api/version": b"v", "/api/tags": b"t"})
    noop.remember([(1, "in sync\n"), (2, "note\n")])
    saved = json.loads((tmp_path / "in-sync" / ("k" * 64 + ".json")).read_text())
    assert saved["url"] == "http://h:1"
    assert saved["output"] == [[1, "in sync\n"], [2, "note\n"]]
    assert set(saved["answers"]) == {"/api/version", "/api/tags"}
    assert [p.name for p in (tmp_path / "in-sync").iterdir()] == ["k" * 64 + ".json"]
    # the verdict holds printed output: private to the user, like a fresh mkstemp file
    assert stat.S_IMODE((tmp_path / "in-sync" / ("k" * 64 + ".json")).stat().st_mode) == 0o600


def test_only_plain_http_is_asked_directly() -> None:
    assert noop._ask("https://ollama.example.com") is None
    assert noop._ask("http://127.0.0.1:9") is None  # refused: the full pipeline runs


def test_the_order_ollama_lists_models_in_does_not_matter_but_a_field_does() -> None:
    a = b'{"models":[{"name":"a:1","digest":"x"},{"name":"b:1","digest":"y"}]}'
    b = b'{"models":[{"name":"b:1","digest":"y"},{"name":"a:1","digest":"x"}]}'
    c = b'{"models":[{"name":"b:1","digest":"z"},{"name":"a:1","digest":"x"}]}'
    assert noop._digest({"/api/tags": a}) == noop._digest({"/api/tags": b})
    assert noop._digest({"/api/tags": a}) != noop._digest({"/api/tags": c})
    assert noop._digest({"/api/tags": b"not json"}) != noop._digest({"/api/tags": b"not json!"})
