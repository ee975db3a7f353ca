"""Hostile answers (issue 12): whatever a server in the way answers, every command ends
within its deadline with one line naming the host or the endpoint, exit 1, no internal
bug, no HTML, and a bounded peak memory.

A rewriting proxy (tests/testbed/rewriteproxy.py) forwards each request to the real
Ollama server and replaces the real answer for one endpoint with a hostile version of
it. Each row runs the command that uses that endpoint through its own proxy, with
`server: {timeout: 5s}` in the manifest and `--stall-timeout 3s` for apply. The rows
are independent, so they run concurrently (once per module, for the rows selected) and
each test asserts on its own row.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testbed.build import PINNED
from tests.testbed.fixtures import FilledRegistry
from tests.testbed.ollama_server import OllamaServer, start_server
from tests.testbed.rewriteproxy import PAGE_MARKER, RewriteProxy

TIMEOUT = 5.0  # the manifest's server.timeout: the deadline of one plain request
STALL = 3.0  # apply --stall-timeout: how long a stream's progress may stand still
ATTEMPTS = 4  # the default retry policy
BACKOFF = 0.5 + 1 + 2 + 3 * 0.5  # its waits between 4 attempts, with the most jitter
SLACK = 15.0  # start-up, the requests before the hostile one, a loaded machine
CAP = 90.0  # a run still going after this is killed (and fails its bound)
MEMORY_MB = 300  # peak RSS of the tool's process, whatever the answer
PARALLEL = int(os.environ.get("HOSTILE_PARALLEL", "8"))  # rows at once (2 CPUs: 8)

COMMANDS = {  # the endpoint under attack -> the command that needs it
    "GET /api/version": "status",
    "GET /api/tags": "drift",
    "POST /api/show": "plan",  # a present warm model is shown
    "GET /api/ps": "status",
    "POST /api/pull": "apply",  # a missing model is pulled
    "POST /api/copy": "apply",  # a present model gains an alias
    "DELETE /api/delete": "apply",  # a present model declared absent
}
PLAIN = (
    "drip",
    "drip_head",
    "endless",
    "malformed",
    "null",
    "html200",
    "empty200",
    "wrong_types",
    "wrong_types/1",
    "error200",
    "html401",
    "html500",
    "garbage",
    "huge_line",
)
STREAM = ("same_progress", *(m for m in PLAIN if m != "wrong_types/1"))  # /api/pull
# Ollama answers a done copy or delete with an empty 200: an empty, cut, dripped or null
# answer is still done. What must fail is what is not done: an error, a page, what never ends.
MUTATING = (
    "drip_head",
    "endless",
    "html200",
    "error200",
    "html401",
    "html500",
    "garbage",
    "huge_line",
)

# Rows that fail until the fix lands, with how they fail today.
XFAIL: dict[str, str] = {}  # rows known to fail: none since the client fixes

# An `error` line inside a 200 stream is how Ollama itself reports a failed pull
# ("pull model manifest: file does not exist"); its line is the model and the server's
# words (tests/integration/test_behaviour.py), and the run's first line names the server.
IN_STREAM_ERROR = ("POST /api/pull", "error200")


@dataclass(frozen=True)
class Row:
    endpoint: str  # "GET /api/tags"
    mode: str  # a rewriteproxy mode, "/N" for another variant of wrong_types

    @property
    def id(self) -> str:
        return f"{self.path.removeprefix('/api/')}-{self.mode.replace('/', '')}"

    @property
    def path(self) -> str:
        return self.endpoint.split()[1]

    @property
    def command(self) -> str:
        return COMMANDS[self.endpoint]

    @property
    def stream(self) -> bool:
        return self.path == "/api/pull"

    @property
    def bound(self) -> float:
        """The longest a run may take: every attempt spends its whole deadline."""
        deadline = STALL if self.stream else TIMEOUT
        return ATTEMPTS * (deadline + 1) + BACKOFF + SLACK  # + 1: a drip's next byte


ROWS = [
    *(Row(e, m) for e in list(COMMANDS)[:4] for m in PLAIN),
    *(Row("POST /api/pull", m) for m in STREAM),
    *(Row(e, m) for e in ("POST /api/copy", "DELETE /api/delete") for m in MUTATING),
]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    killed: bool
    host: str  # host:port of the proxy the run went through
    rewritten: int  # answers the proxy rewrote for the row's path


# Runs the tool as its only child and writes that child's peak RSS (KB) to argv[1]: the
# tool's own ru_maxrss, not the pytest process's (Linux carries a parent's high-water
# mark over fork and exec into the child's).
_MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code if code >= 0 else 128 - code)\n"
)


def _run(args: list[str], cap: float) -> tuple[int, str, str, float, float, bool]:
    """Run the CLI once: its exit code, output, seconds, peak RSS in MB (-1 when the cap
    killed it) and whether the cap killed it."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        peak_file = Path(scratch) / "peak"
        command = [sys.executable, "-m", "provisioner", *args]
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, str(peak_file), *command],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the cap kills the wrapper and the tool together
        )
        try:
            code = proc.wait(timeout=cap)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
            killed = True
        seconds = time.monotonic() - started
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else -1.0
        out.seek(0)
        err.seek(0)
        return (
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            peak,
            killed,
        )


def _selected(request: pytest.FixtureRequest) -> list[Row]:
    """The rows of this module that this session runs (all of them, or those -k picked)."""
    rows = [
        item.callspec.params.get("row")
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and hasattr(item, "callspec")
    ]
    return [r for r in rows if isinstance(r, Row)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OllamaServer]:
    """One real server for every row: each row has its own proxy and its own model to pull."""
    server = start_server(PINNED, tmp_path_factory.mktemp("hostile") / f"ollama-{PINNED}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    server: OllamaServer,
    registry: FilledRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Row, Outcome]:
    rows = _selected(request)
    folder = tmp_path_factory.mktemp("hostile-manifests")
    tiny = registry.name("library/tiny")
    server.cli("pull", "--insecure", tiny)  # present: a warm model is shown, and ps'd
    header = f"version: 1\nserver:\n  timeout: {TIMEOUT:g}s\nmodels:\n"
    warm = folder / "warm.yaml"
    warm.write_text(header + f"  - name: {tiny}\n    insecure: true\n    warm: true\n")

    def manifest(row: Row, entry: str) -> Path:
        path = folder / f"{row.id}.yaml"
        path.write_text(header + entry)
        return path

    def prepare(row: Row) -> list[str]:
        name = f"hostile-{row.id.replace('_', '-')}"  # each row its own, as they run at once
        if row.path == "/api/copy":
            entry = f"  - name: {tiny}\n    insecure: true\n    aliases: [{name}]\n"
            return [row.command, str(manifest(row, entry))]
        if row.path == "/api/delete":
            server.cli("cp", tiny, name)
            return [row.command, str(manifest(row, f"  - name: {name}\n    state: absent\n"))]
        if not row.stream:
            return [row.command, str(warm)]
        missing = registry.push("library/hostile", row.id.replace("_", "-"), seed=0)
        path = folder / f"{row.id}.yaml"
        path.write_text(header + f"  - name: {missing}\n    insecure: true\n")
        return [row.command, "--stall-timeout", f"{STALL:g}s", str(path)]

    started = time.monotonic()
    commands = {row: prepare(row) for row in rows}  # pushes one tag per pull row, in turn
    pushed = time.monotonic() - started

    def one(row: Row) -> Outcome:
        proxy = RewriteProxy(server.url).start()
        try:
            mode, _, variant = row.mode.partition("/")
            proxy.rewrite(row.path, mode, int(variant or 0))
            done = _run(["--host", proxy.url, *commands[row]], CAP)
            host = f"127.0.0.1:{proxy.port}"
            return Outcome(*done, host=host, rewritten=proxy.rewritten[row.path])
        finally:
            proxy.stop()

    slow_first = sorted(rows, key=lambda r: r.mode not in ("drip", "same_progress"))
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        done = dict(zip(slow_first, pool.map(one, slow_first), strict=True))
    results = {row: done[row] for row in rows}
    print(f"\nrows: {len(rows)}, {PARALLEL} at once, pushed pull models in {pushed:.0f}s")
    print("row                   code seconds bound peak-MB asked  last line")
    for row, o in results.items():
        print(
            f"{row.id:<22}{o.code:>4}{o.seconds:>8.1f}{row.bound:>6.0f}{o.peak_mb:>8.0f}"
            f"{o.rewritten:>6}  {'KILLED ' if o.killed else ''}{(_error_line(o) or '-')[:160]}"
        )
    return results


def _error_lines(o: Outcome) -> list[str]:
    """The `error:` lines on stderr, else the FAILED actions on stdout."""
    errors = [x for x in o.err.splitlines() if x.startswith("error:")]
    failed = [x.strip() for x in o.out.splitlines() if x.strip().startswith("FAILED")]
    return errors or failed


def _error_line(o: Outcome) -> str | None:
    """The line the run ended with."""
    lines = _error_lines(o)
    return lines[-1] if lines else None


def _problems(row: Row, o: Outcome) -> list[str]:
    both = o.out + o.err
    problems = []
    if o.rewritten == 0:
        problems.append(f"{row.command} never asked for {row.path}: the row tests nothing")
    if o.killed or o.seconds > row.bound:
        problems.append(f"took {o.seconds:.1f}s, more than {row.bound:.0f}s")
    if o.code != 1:
        problems.append(f"exit {o.code}, not 1")
    if "Traceback" in both:
        problems.append("a traceback")
    if any(x.startswith("error: unexpected ") for x in both.splitlines()):
        problems.append("an internal-bug line (error: unexpected ...)")
    line, count = _error_line(o), len(_error_lines(o))
    if line is None:
        problems.append("no error line")
    elif count > 1:
        problems.append(f"{count} error lines")
    elif (row.endpoint, row.mode) == IN_STREAM_ERROR:
        if not (line.startswith("FAILED pull ") and ": boom" in line):
            problems.append("the error line is not the model and the server's words (boom)")
    elif o.host not in line and row.path not in line:
        problems.append(f"the error line names neither {o.host} nor {row.path}")
    elif len(line) > 400:
        problems.append(f"an error line of {len(line)} characters")
    lowered = both.lower()
    if PAGE_MARKER in lowered or any(t in lowered for t in ("<html", "<!doctype", "<body")):
        problems.append("HTML in the output")
    if len(both) > 50_000:
        problems.append(f"{len(both)} characters of output")
    if o.peak_mb < 0 and not o.killed:
        problems.append("peak memory not measured")
    if o.peak_mb > MEMORY_MB:
        problems.append(f"peak memory {o.peak_mb:.0f} MB, more than {MEMORY_MB} MB")
    return problems


def _param(row: Row) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=XFAIL[row.id])] if row.id in XFAIL else []
    return pytest.param(row, id=row.id, marks=marks)


@pytest.mark.timeout(600)  # the first row's setup runs the whole table
@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_a_hostile_answer_ends_in_one_line_and_exit_1(
    row: Row, outcomes: dict[Row, Outcome]
) -> None:
    o = outcomes[row]
    # what `pytest -s` prints: the table's measured numbers, row by row
    print(f"\nhostile {row.id}: exit {o.code}, {o.seconds:.1f} s, peak {o.peak_mb:.0f} MB")
    problems = _problems(row, o)
    tail = "\n".join((o.out + o.err).splitlines()[-8:])[:3000]
    assert not problems, (
        f"{row.endpoint} {row.mode} ({row.command}, {o.seconds:.1f}s, {o.peak_mb:.0f} MB): "
        + "; ".join(problems)
        + f"\n--- last lines ---\n{tail}"
    )
