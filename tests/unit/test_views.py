"""The views, from typed results: golden text and JSON for plan, apply, drift and status.

The golden files under tests/unit/golden/ are what a newcomer reads; a change
of wording or shape fails here first. Regenerate after a deliberate change
with UPDATE_GOLDEN=1 and read the diff as a newcomer would.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provisioner.errors import Position
from provisioner.manifest.lock import Disagreement
from provisioner.names import parse_name
from provisioner.reconcile.actions import Create, Pull, Warm
from provisioner.reconcile.apply import Result
from provisioner.reconcile.core import Applied, LockUse, Planned, StatusReport
from provisioner.reconcile.plan import make_plan
from provisioner.server.hosts import ResolvedHost
from provisioner.types.manifest import CreateSpec, Manifest, PruneSettings, ServerSettings
from provisioner.types.state import RemoteManifest, ServerModel, ServerState
from provisioner.types.wire import RunningModel
from provisioner.views import json_docs, markdown, text
from tests.unit.builders import show, spec

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "output.schema.json").read_text())
NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=timezone.utc)
HERE = Position("models.yaml", 1, 1)
A, B, C = ("sha256:" + c * 64 for c in "abc")
TARGET = ResolvedHost("http://127.0.0.1:11434", "OLLAMA_HOST")


def scenario() -> Planned:
    """One of every action, a failure, extras, a lock: what a busy apply looks like."""
    models = (
        spec("llama3.2"),  # missing
        spec("qwen2.5:7b", pull="always"),  # outdated
        spec("pinned:v1", digest=C, pinned_by="models.lock.json"),  # pin not served
        spec("bot", kind="custom", create=CreateSpec(from_="qwen2.5:7b", system="Be brief.")),
        spec("embed", warm=True, keep_alive="10m", aliases=(parse_name("fast"),)),
        spec("old", kind="absent"),
    )
    manifest = Manifest(
        Path("/work/models.yaml"), 1, ServerSettings(), models, PruneSettings(False, ())
    )
    qwen, pinned = parse_name("qwen2.5:7b"), parse_name("pinned:v1")
    state = ServerState(
        "0.11.4",
        tuple(
            ServerModel(parse_name(n), d, s, "2026-12-01T12:00:00Z")
            for n, d, s in (
                ("qwen2.5:7b", A, 4_700_000_000),
                ("pinned:v1", A, 472_480),
                ("bot", B, 4_700_000_000),
                ("embed", B, 472_512),
                ("old", C, 1_000),
                ("scratch", C, 1_000),
                ("tmp-test", A, 1_000),
            )
        ),
        shows={parse_name("bot").key: show(system="Be verbose."), qwen.key: show()},
        running=(),
        remote={
            qwen.key: RemoteManifest(qwen, B, B, ()),
            pinned.key: RemoteManifest(pinned, B, B, ()),
        },
    )
    plan = make_plan(manifest, state)
    # The manifest pins "embed" one way and its lock another: drift of kind "lock".
    relock = "run `ollama-provision lock`"
    stale = Disagreement(
        parse_name("embed"), f"pinned to {A} but locked to {B} in models.lock.json; {relock}"
    )
    lock = LockUse(Path("/work/models.lock.json"), 3, (stale,))
    return Planned(manifest, TARGET, lock, state, plan)


def applied(planned: Planned) -> Applied:
    results = [
        Result("check", parse_name("pinned:v1"), "failed", error=planned.plan.failures[0].message)
    ]
    for action in planned.plan.actions:
        if isinstance(action, Pull) and action.model.tag == "7b":
            results.append(
                Result(
                    "pull",
                    action.model,
                    "failed",
                    30.2,
                    "HTTP 500 (gave up after 4 attempts)",
                    None,
                    action,
                )
            )
        elif isinstance(action, Create):
            results.append(
                Result(
                    "create",
                    action.model,
                    "skipped",
                    error="qwen2.5:7b did not converge",
                    action=action,
                )
            )
        elif isinstance(action, Warm):
            results.append(
                Result(
                    "warm",
                    action.model,
                    "done",
                    0.4,
                    None,
                    "loaded in 0.4s",
                    action,
                    "2026-12-02T13:10:00+01:00",
                )
            )
        else:
            results.append(Result(action.kind, action.model, "done", 1.25, None, None, action))
    return Applied(planned, "failed", tuple(results))


def status() -> StatusReport:
    planned = scenario()
    running = (
        RunningModel("embed:latest", B[7:], 600_000, 0, "2026-12-02T13:09:00+01:00"),
        RunningModel("qwen2.5:7b", A[7:], 5_000_000_000, 5_000_000_000, "2318-01-01T00:00:00Z"),
    )
    return StatusReport(
        TARGET, planned.manifest, planned.lock, planned.state, running, planned.plan
    )


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} changed; UPDATE_GOLDEN=1 after reading the diff"


def valid(doc: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc


def test_plan_text() -> None:
    golden("plan.txt", "\n".join(text.plan_lines(scenario())) + "\n")


def test_plan_text_verbose_lists_every_undeclared_model() -> None:
    lines = text.plan_lines(scenario(), verbose=True)
    assert [line for line in lines if "? extra" in line] == [
        "  ? extra  scratch:latest  (on the server, not declared; left alone)",
        "  ? extra  tmp-test:latest  (on the server, not declared; left alone)",
    ]


def test_plan_text_quiet_is_failures_and_the_summary() -> None:
    lines = text.plan_lines(scenario(), quiet=True)
    assert len(lines) == 2 and lines[0].startswith("  ! fail   pinned:v1  (locked to sha256:")
    assert lines[1] == "plan: 2 to add, 1 to change, 1 to replace, 1 to delete; 1 to warm"


def test_apply_text() -> None:
    run = applied(scenario())
    lines = [text.result_line(r, NOW) for r in run.results] + [text.apply_summary(run)]
    golden("apply.txt", "\n".join(lines) + "\n")


def test_drift_text() -> None:
    golden("drift.txt", "\n".join(text.drift_lines(scenario())) + "\n")


def test_status_text() -> None:
    golden("status.txt", "\n".join(text.status_lines(status(), NOW)) + "\n")


def test_markdown_summary() -> None:
    golden("apply.md", markdown.apply_summary(applied(scenario())))


def test_markdown_plan_and_drift() -> None:
    golden("plan.md", markdown.plan_document(scenario()))
    golden("drift.md", markdown.drift_document(scenario()))
    # the same facts as the text view: one row per action and per drifted model
    planned = scenario()
    plan_rows = [r for r in markdown.plan_document(planned).splitlines() if r.startswith("| ")]
    assert len(plan_rows) == 1 + len(planned.plan.failures) + len(planned.plan.actions)
    drifted = [d for d in planned.drifts if d.kind != "extra"]
    drift_rows = [r for r in markdown.drift_document(planned).splitlines() if r.startswith("| ")]
    unchecked = planned.plan.problems  # not checked, or refused by the registry
    assert len(drift_rows) == 1 + len(drifted) + len(unchecked)


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("plan.json", lambda: json_docs.plan_document(scenario())),
        ("apply.json", lambda: json_docs.apply_document(applied(scenario()))),
        ("drift.json", lambda: json_docs.drift_document(scenario())),
        ("status.json", lambda: json_docs.status_document(status())),
    ],
)
def test_json_documents_keep_their_shape(name: str, build: Any) -> None:
    doc = valid(build())
    golden(name, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def test_no_placeholder_or_none_in_any_text() -> None:
    lines = [
        *text.plan_lines(scenario(), verbose=True),
        *text.drift_lines(scenario(), verbose=True),
        *text.status_lines(status(), NOW),
        *[text.result_line(r, NOW) for r in applied(scenario()).results],
    ]
    for line in lines:
        assert "None" not in line and "undeclared, actual" not in line, line
