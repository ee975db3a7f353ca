"""The published output schema is strict enough to catch a changed document."""

import json
from pathlib import Path

import jsonschema
import pytest

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas/output.schema.json").read_text()
)
PLAN = {
    "kind": "plan",
    "format_version": 1,
    "server": "http://127.0.0.1:11434",
    "lock": None,
    "server_version": "0.11.4",
    "actions": [],
    "failures": [],
    "in_sync": ["tiny:latest"],
    "extra": [],
}


def check(doc: dict) -> None:  # type: ignore[type-arg]
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_a_plan_document_validates() -> None:
    check(PLAN)


@pytest.mark.parametrize(
    "change",
    [{"format_version": 2}, {"surprise": 1}, {"in_sync": "yes"}, {"kind": "plans"}],
)
def test_changed_documents_are_rejected(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(jsonschema.ValidationError):
        check({**PLAN, **change})


def test_apply_document_nests_a_closed_plan() -> None:
    plan = {k: v for k, v in PLAN.items() if k not in ("kind", "format_version", "server", "lock")}
    doc = {
        "kind": "apply",
        "format_version": 1,
        "server": "s",
        "lock": None,
        "outcome": "in-sync",
        "changed": False,
        "in_sync": True,
        "dry_run": False,
        "plan": plan,
        "results": [],
    }
    check(doc)
    with pytest.raises(jsonschema.ValidationError):
        check({**doc, "plan": {**plan, "kind": "plan"}})
