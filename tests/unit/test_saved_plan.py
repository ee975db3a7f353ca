"""The saved plan's file format and its staleness checks, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from provisioner.errors import StalePlan, UsageError
from provisioner.names import parse_name
from provisioner.reconcile import saved_plan as sp
from provisioner.reconcile.actions import Copy, Delete, Drift, Pull
from provisioner.reconcile.plan import Plan

TINY = parse_name("tiny")
ALIAS = parse_name("small")
MODELS = [("tiny:latest", "sha256:" + "a" * 64), ("other:1", "sha256:" + "b" * 64)]


def _plan() -> Plan:
    missing = Drift("missing", TINY, "present", "absent")
    return Plan(
        server_version="0.11.4",
        actions=(
            Pull(TINY, missing),
            Copy(ALIAS, Drift("missing", ALIAS), TINY),
            Delete(parse_name("old"), Drift("unwanted", parse_name("old"))),
        ),
        in_sync=(),
    )


def _saved(tmp_path: Path) -> sp.SavedPlan:
    server = sp.saved_server("http://h:1", "http://h:1", _plan(), MODELS)
    return sp.SavedPlan(tmp_path / "models.yaml", sp.sha256(b"version: 1\n"), None, (server,))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(text)
    return path


def test_a_written_plan_reads_back_as_the_same_plan(tmp_path: Path) -> None:
    saved = _saved(tmp_path)
    text = sp.plan_file_text(saved, "0.1.1.dev1")
    assert sp.read_plan_file(_write(tmp_path, text)) == saved
    document = json.loads(text)
    schema = json.loads((Path(__file__).parents[2] / "schemas" / sp.SCHEMA).read_text())
    jsonschema.validate(document, schema)
    assert document["servers"][0]["actions"] == [
        "pull tiny:latest (missing)",
        "copy small:latest <- tiny:latest (missing)",
        "delete old:latest (unwanted)",
    ]


def test_the_model_list_fingerprint_ignores_order_and_sees_a_digest(tmp_path: Path) -> None:
    assert sp.models_fingerprint(MODELS) == sp.models_fingerprint(reversed(MODELS))
    moved = [(MODELS[0][0], "sha256:" + "c" * 64), MODELS[1]]
    assert sp.models_fingerprint(moved) != sp.models_fingerprint(MODELS)


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda text: text[:-10], "not JSON"),
        (
            lambda text: text.replace('"format_version": 1', '"format_version": 2'),
            "format_version 2",
        ),
        (lambda text: text.replace('"saved-plan"', '"plan"'), "not a plan file"),
        (
            lambda text: text.replace(
                '"pull tiny:latest (missing)"', '"pull tiny:latest (missing)", "delete x"'
            ),
            "changed after it was made",
        ),
        (lambda text: text.replace('"server_version"', '"version"'), "not valid at servers/0"),
    ],
    ids=["bad-json", "format-version", "kind", "action-added", "shape"],
)
def test_a_plan_file_edited_by_hand_is_refused_in_one_line(
    tmp_path: Path, edit: object, said: str
) -> None:
    text = sp.plan_file_text(_saved(tmp_path), "0.1.1.dev1")
    assert callable(edit)
    with pytest.raises(UsageError) as raised:
        sp.read_plan_file(_write(tmp_path, edit(text)))
    message = str(raised.value)
    assert said in message and "plan --out" in message and "\n" not in message


def test_a_changed_manifest_or_lock_makes_the_plan_stale(tmp_path: Path) -> None:
    saved = _saved(tmp_path)
    sp.check_inputs(saved, b"version: 1\n", None)
    with pytest.raises(StalePlan, match=r"models\.yaml changed since it was made: plan again"):
        sp.check_inputs(saved, b"version: 1\nmodels: []\n", None)
    with pytest.raises(StalePlan, match="the lock was written since"):
        sp.check_inputs(saved, b"version: 1\n", b"{}")


def test_a_moved_server_makes_the_plan_stale() -> None:
    saved = sp.saved_server("gpu-1", "http://h:1", _plan(), MODELS)
    sp.check_server(saved, "0.11.4", MODELS)
    with pytest.raises(StalePlan, match=r"gpu-1 changed since it was made \(Ollama 0.11.4 then"):
        sp.check_server(saved, "0.12.0", MODELS)
    with pytest.raises(StalePlan, match="its model list differs"):
        sp.check_server(saved, "0.11.4", MODELS[:1])


def test_a_plan_made_again_must_list_the_same_actions() -> None:
    saved = sp.saved_server("gpu-1", "http://h:1", _plan(), MODELS)
    sp.check_actions(saved, _plan())
    fewer = Plan(server_version="0.11.4", actions=_plan().actions[:2], in_sync=())
    with pytest.raises(StalePlan, match=r"no longer: delete old:latest \(unwanted\)"):
        sp.check_actions(saved, fewer)
