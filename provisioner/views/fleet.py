"""Fleet views: a section per server, the summary table, and the status matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provisioner.errors import InvalidName
from provisioner.fleet.inventory import Server
from provisioner.names import Key, parse_name
from provisioner.reconcile.core import StatusReport
from provisioner.reconcile.fleet import Outcome
from provisioner.types.manifest import Manifest
from provisioner.views.answers import Answer, note_line
from provisioner.views.rows import status_rows
from provisioner.views.text import memory


@dataclass(frozen=True)
class Row:
    """One server's line of the summary table."""

    name: str
    host: str
    labels: dict[str, str]
    version: str | None
    result: str
    actions: int
    seconds: float
    code: int
    message: str | None  # the first error, one line


def row(server: Server, answer: Answer, seconds: float) -> Row:
    message = answer.errors[0].removeprefix("error: ") if answer.errors else None
    return Row(
        server.name,
        server.host,
        dict(server.labels),
        answer.version,
        answer.result,
        answer.actions,
        round(seconds, 3),
        answer.code,
        message,
    )


def section(server: Server, lines: Sequence[str], *, quiet: bool = False) -> str:
    """`== gpu-1 (http://10.0.0.5:11434) ==` and what the server's own run said."""
    head = f"== {server.name} ({server.host}) =="
    body = [line for line in lines if line] if quiet else list(lines)
    return "\n".join([head, *body, ""])


def server_section(outcome: Outcome[Any], answer: Answer, *, quiet: bool = False) -> str:
    """A server's section: what was said while it ran, then its answer (a failed run's
    answer already holds its notes)."""
    notes = [note_line(n) for n in outcome.notes] if outcome.value is not None else []
    body = [*notes, *answer.lines]
    if not answer.lines and answer.errors:
        body += answer.errors
    return section(outcome.server, body, quiet=quiet)


def server_errors(server: Server, answer: Answer) -> list[str]:
    """A server's errors for stderr, each naming the server: `error: server 'gpu-1': ...`."""
    return [
        f"{line.split(': ', 1)[0]}: server '{server.name}': {line.split(': ', 1)[-1]}"
        for line in answer.errors
    ]


_ACTION_WORD = {
    "apply": "actions",
    "plan": "changes",
    "drift": "drifts",
    "status": "drifts",
    "warm": "warmed",
}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in (header, *rows)
    ]


def summary_lines(command: str, rows: Sequence[Row], seconds: float) -> list[str]:
    header = ["SERVER", "VERSION", "RESULT", _ACTION_WORD[command].upper(), "TIME", "ERROR"]
    cells = [
        [r.name, r.version or "-", r.result, str(r.actions), f"{r.seconds:.1f}s", r.message or ""]
        for r in rows
    ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.result] = counts.get(r.result, 0) + 1
    said = ", ".join(f"{n} {word}" for word, n in counts.items())
    return [*_table(header, cells), f"fleet: {len(rows)} server(s): {said} ({seconds:.1f}s)"]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(command: str, rows: Sequence[Row]) -> str:
    lines = [
        f"### ollama-provision {command}: {len(rows)} server(s)",
        "",
        f"| server | version | result | {_ACTION_WORD[command]} | time | error |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {_md(r.name)} | {r.version or '-'} | {r.result} | {r.actions} | "
            f"{r.seconds:.1f}s | {_md(r.message or '')} |"
        )
    return "\n".join([*lines, ""]) + "\n"


# ---- the status matrix ------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A declared model on one server."""

    state: str  # "present", "missing", a drift kind, "not declared here", "unknown"
    loaded: bool = False
    size: int = 0  # bytes in memory when loaded
    size_vram: int = 0
    expires_at: str = ""
    memory: str = ""  # "472.5 KB cpu, expires in 9m"


@dataclass(frozen=True)
class Matrix:
    models: tuple[str, ...]
    servers: tuple[Server, ...]
    versions: tuple[str | None, ...]
    cells: tuple[tuple[Cell, ...], ...]  # [model][server]


_NOT_HERE = Cell("not declared here")
_UNKNOWN = Cell("unknown")


def _key(text: str) -> Key | None:
    try:
        return parse_name(text).key
    except InvalidName:
        return None


def matrix(
    manifest: Manifest | None,
    reports: Sequence[tuple[Server, StatusReport | None]],
    now: datetime | None = None,
) -> Matrix:
    """Declared models (all of the manifest's, or without one every model any server
    has) by server. A failed server's column is unknown."""
    if manifest is not None:
        names = [s.name.display for s in manifest.models if s.kind != "absent"]
    else:
        names = []
        for _, report in reports:
            for m in report.state.models if report else ():
                if m.name.display not in names:
                    names.append(m.name.display)
    columns: list[dict[Key | None, Cell]] = []
    declared: list[set[Key] | None] = []
    for _, report in reports:
        if report is None:
            columns.append({})
            declared.append(None)
            continue
        cells: dict[Key | None, Cell] = {}
        for r in status_rows(report):
            state = "present" if r.present and r.state in ("in sync", "") else r.state
            if r.loaded is not None:
                cells[_key(r.model)] = Cell(
                    state, True, r.loaded.size, r.loaded.size_vram, r.loaded.expires_at,
                    memory(r.loaded, now),
                )  # fmt: skip
            else:
                cells[_key(r.model)] = Cell(state or "missing")
        columns.append(cells)
        here = report.manifest
        declared.append({s.name.key for s in here.models} if here is not None else None)
    rows = []
    for name in names:
        key = _key(name)
        line = []
        for (_, report), cells, wanted in zip(reports, columns, declared, strict=True):
            if report is None:
                line.append(_UNKNOWN)
            elif wanted is not None and key not in wanted:
                line.append(_NOT_HERE)
            else:
                line.append(cells.get(key, Cell("missing")))
        rows.append(tuple(line))
    versions = tuple(r.state.version if r else None for _, r in reports)
    return Matrix(tuple(names), tuple(s for s, _ in reports), versions, tuple(rows))


def _cell_text(cell: Cell) -> str:
    if cell.state == "not declared here":
        return "-"
    if cell.state == "unknown":
        return "?"
    if cell.loaded:
        return f"{cell.state}, loaded {cell.memory}"
    return cell.state


def matrix_lines(m: Matrix) -> list[str]:
    header = ["MODEL", *(s.name for s in m.servers)]
    rows = [
        [name, *(_cell_text(c) for c in cells)]
        for name, cells in zip(m.models, m.cells, strict=True)
    ]
    versions = ["", *(f"ollama {v}" if v else "unreachable" for v in m.versions)]
    legend = "- not declared for that server (selector); ? server could not be asked"
    return [*_table(header, [versions, *rows]), legend]


def matrix_markdown(m: Matrix) -> str:
    head = [
        "model",
        *(
            f"{_md(s.name)} ({'ollama ' + v if v else 'unreachable'})"
            for s, v in zip(m.servers, m.versions, strict=True)
        ),
    ]
    lines = [
        f"### ollama-provision status: {len(m.models)} model(s) on {len(m.servers)} server(s)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, cells in zip(m.models, m.cells, strict=True):
        lines.append(f"| `{_md(name)}` | " + " | ".join(_md(_cell_text(c)) for c in cells) + " |")
    lines += ["", "`-` not declared for that server (selector); `?` server could not be asked", ""]
    return "\n".join(lines) + "\n"


def matrix_json(m: Matrix) -> dict[str, Any]:
    return {
        "servers": [s.name for s in m.servers],
        "models": [
            {
                "model": name,
                "on": {
                    s.name: {
                        "state": c.state,
                        "loaded": c.loaded,
                        "size": c.size if c.loaded else None,
                        "size_vram": c.size_vram if c.loaded else None,
                        "expires_at": c.expires_at or None,
                    }
                    for s, c in zip(m.servers, cells, strict=True)
                },
            }
            for name, cells in zip(m.models, m.cells, strict=True)
        ],
    }
