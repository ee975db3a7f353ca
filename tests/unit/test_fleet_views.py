"""The fleet views: summary table, exit rule, status matrix and OpenMetrics, from typed
results (the real-server side is tests/integration/test_fleet.py)."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from provisioner import exit_codes
from provisioner.errors import ConnectionFailed
from provisioner.exit_codes import fleet_exit
from provisioner.fleet.inventory import Server
from provisioner.reconcile.core import Planned, StatusReport
from provisioner.reconcile.fleet import Outcome
from provisioner.types.wire import RunningModel
from provisioner.views import fleet as view
from provisioner.views.answers import Answer
from provisioner.views.json_docs import error_document
from provisioner.views.openmetrics import drift_metrics
from tests.unit.test_views import NOW, TARGET, scenario

GPU = Server("gpu-1", "http://10.0.0.5:11434", {"gpu": "true"})
CPU = Server("cpu-1", "http://10.0.0.6:11434")


def answer(code: int, result: str, *, errors: tuple[str, ...] = ()) -> Answer:
    return Answer(code, result, 2, "0.11.4", (), error_document("x", code), errors)


def test_the_exit_rule_failure_over_drift_over_ok() -> None:
    ok, drift = answer(0, "in sync"), answer(3, "drift")
    failed = answer(1, "failed", errors=("error: cannot connect",))
    usage = answer(2, "failed")

    def rows(*o: Answer) -> list[int]:
        return [view.row(GPU, x, 1.0).code for x in o]

    assert fleet_exit(rows(ok, ok), drift_exit=True) == exit_codes.OK
    assert fleet_exit(rows(ok, drift), drift_exit=True) == exit_codes.DRIFT
    assert fleet_exit(rows(ok, drift), drift_exit=False) == exit_codes.OK
    assert fleet_exit(rows(drift, failed), drift_exit=True) == exit_codes.FAILED
    assert fleet_exit(rows(ok, usage), drift_exit=True) == exit_codes.FAILED


def test_the_summary_table_has_a_row_per_server_and_a_count_line() -> None:
    rows = [
        view.row(GPU, answer(0, "changed"), 3.14),
        view.row(CPU, answer(1, "failed", errors=("error: cannot connect to x",)), 0.2),
    ]
    lines = view.summary_lines("apply", rows, 3.2)
    assert lines == [
        "SERVER  VERSION  RESULT   ACTIONS  TIME  ERROR",
        "gpu-1   0.11.4   changed  2        3.1s",
        "cpu-1   0.11.4   failed   2        0.2s  cannot connect to x",
        "fleet: 2 server(s): 1 changed, 1 failed (3.2s)",
    ]
    md = view.summary_markdown("drift", rows)
    assert "| server | version | result | drifts | time | error |" in md
    assert "| cpu-1 | 0.11.4 | failed | 2 | 0.2s | cannot connect to x |" in md


def test_the_matrix_marks_missing_loaded_elsewhere_and_unknown() -> None:
    planned = scenario()
    loaded = RunningModel("embed:latest", "", 472_512, 0, "2026-12-02T12:09:00Z")
    report = StatusReport(TARGET, planned.manifest, None, planned.state, (loaded,), planned.plan)
    narrowed = type(planned.manifest)(
        planned.manifest.path, 1, planned.manifest.server, planned.manifest.models[:1]
    )
    elsewhere = StatusReport(TARGET, narrowed, None, planned.state, (), planned.plan)
    m = view.matrix(planned.manifest, [(GPU, report), (CPU, elsewhere), (GPU, None)], NOW)
    cells = dict(zip(m.models, m.cells, strict=True))
    assert cells["llama3.2:latest"][0].state == "missing"
    assert cells["embed:latest"][0].loaded and "expires in 9m" in cells["embed:latest"][0].memory
    assert cells["embed:latest"][1].state == "not declared here"
    assert cells["embed:latest"][2].state == "unknown"
    assert "old:latest" not in cells  # declared absent: not a row
    lines = view.matrix_lines(m)
    assert lines[0].split() == ["MODEL", "gpu-1", "cpu-1", "gpu-1"]
    assert lines[1].split() == ["ollama", "0.11.4", "ollama", "0.11.4", "unreachable"]


def test_openmetrics_counts_every_kind_and_leaves_a_down_server_without_drift() -> None:
    planned = scenario()
    up = Outcome(GPU, planned, None, 0.5, (), 1.8e9)
    down: Outcome[Planned] = Outcome(CPU, None, ConnectionFailed("cannot connect"), 4.0)
    text = drift_metrics([up, down])
    samples = {
        (s.name, s.labels["server"], s.labels.get("kind")): s.value
        for family in text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    kinds = [d.kind for d in planned.plan.drifts]
    assert samples[("ollama_provision_drift", "gpu-1", "missing")] == kinds.count("missing")
    assert samples[("ollama_provision_drift", "gpu-1", "extra")] == kinds.count("extra") > 0
    assert samples[("ollama_provision_drift", "gpu-1", "alias-stale")] == kinds.count("alias-stale")
    assert samples[("ollama_provision_drift", "gpu-1", "lock")] == 1  # the lock disagrees
    assert samples[("ollama_provision_up", "gpu-1", None)] == 1
    assert samples[("ollama_provision_up", "cpu-1", None)] == 0
    assert not any(k[0] == "ollama_provision_drift" and k[1] == "cpu-1" for k in samples)
    assert samples[("ollama_provision_check_duration_seconds", "cpu-1", None)] == 4.0
    assert samples[("ollama_provision_last_check_timestamp_seconds", "gpu-1", None)] == 1.8e9
