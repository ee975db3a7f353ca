"""drift --output openmetrics: the drift of every server as OpenMetrics text.

For node_exporter's textfile collector (write to a .prom file) or a Pushgateway.
Every drift kind is written for every server, zero included, so a series that
goes back to 0 is seen as 0 rather than disappearing. A server that could not
be checked has up 0 and no drift or model series (unknown is not zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from provisioner.errors import UsageError
from provisioner.exit_codes import unchecked
from provisioner.fleet.inventory import Server
from provisioner.reconcile.actions import DriftKind
from provisioner.reconcile.core import Planned
from provisioner.reconcile.fleet import Outcome
from provisioner.server.hosts import parse_host

PREFIX = "ollama_provision"
_FAMILIES = (
    ("up", "gauge", "1 when the server answered and its drift was checked, else 0."),
    ("drift", "gauge", "Models that differ from the manifest, by drift kind (extra: undeclared)."),
    ("models_declared", "gauge", "Models the manifest declares for this server."),
    ("models_present", "gauge", "Declared models the server has, in sync or not."),
    ("last_check_timestamp_seconds", "gauge", "When this check ended (Unix time)."),
    ("check_duration_seconds", "gauge", "How long this check took."),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def host_label(host: str) -> str:
    """One spelling of an address, however it was written (`127.0.0.1:11434` in an
    inventory, `http://127.0.0.1:11434/` on --host): the base URL the tool connects to,
    so series join across runs and entry points."""
    try:
        return parse_host(host)[0]
    except UsageError:  # checked when the inventory was read; keep what was written
        return host


def _labels(server: Server, **more: str) -> str:
    pairs = {"server": server.name, "host": host_label(server.host), **more}
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items()) + "}"


def drift_metrics(outcomes: Sequence[Outcome[Planned]]) -> str:
    """The exposition text, ending in `# EOF`."""
    samples: dict[str, list[str]] = {name: [] for name, _, _ in _FAMILIES}
    for outcome in outcomes:
        server, seconds, planned = outcome.server, outcome.seconds, outcome.value
        up = planned is not None and not unchecked(planned.plan)
        samples["up"].append(f"{_labels(server)} {1 if up else 0}")
        samples["last_check_timestamp_seconds"].append(
            f"{_labels(server)} {outcome.checked_at:.3f}"
        )
        samples["check_duration_seconds"].append(f"{_labels(server)} {seconds:.3f}")
        if planned is None or not up:
            continue
        counts = dict.fromkeys(get_args(DriftKind), 0)
        for d in planned.drifts:
            counts[d.kind] += 1
        for kind, n in counts.items():
            samples["drift"].append(f"{_labels(server, kind=kind)} {n}")
        declared = [s for s in planned.manifest.models if s.kind != "absent"]
        present = sum(1 for s in declared if planned.state.find(s.name) is not None)
        samples["models_declared"].append(f"{_labels(server)} {len(declared)}")
        samples["models_present"].append(f"{_labels(server)} {present}")
    lines = []
    for name, kind, help_text in _FAMILIES:
        lines += [f"# TYPE {PREFIX}_{name} {kind}", f"# HELP {PREFIX}_{name} {help_text}"]
        lines += [f"{PREFIX}_{name}{sample}" for sample in samples[name]]
    return "\n".join([*lines, "# EOF"]) + "\n"
