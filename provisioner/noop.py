"""A remembered in-sync verdict: a repeated no-op apply in two requests and no imports.

An apply that found the server in sync after asking it only GET /api/version and
GET /api/tags (no registry, no /api/show, no /api/ps, no headers) is a pure function
of its command line, working folder, environment, terminal, the manifest's bytes,
the lock's bytes, this tool's own files, and those two answers. Such a run's output
is remembered under a key of everything but the answers. The next identical apply
asks the two questions again with the standard library alone and, when both answers
are byte for byte what they were, prints the remembered output and exits 0 without
loading the rest of the tool. Anything else (a different answer, a refused
connection, an https server, an option this does not know) runs the whole pipeline
as before, which also remembers its verdict when it qualifies.

Stdlib only, imported before click, httpx and yaml: that is the point of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from provisioner.cache import cache_root
from provisioner.manifest.lock_path import lock_path

QUESTIONS = (("GET", "/api/version"), ("GET", "/api/tags"))
_TIMEOUT = 5.0  # the full pipeline follows when the server is slower than this
_ENV = re.compile(r"^(OLLAMA|NO_COLOR$|FORCE_COLOR$|TERM$|COLUMNS$|LINES$|LANG$|LC_|PYTHON)")
_PROXY = re.compile(r"(?i)^(https?_proxy|all_proxy|no_proxy|ssl_cert_(file|dir))$")
_VARIABLE = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_PACKAGE = Path(__file__).resolve().parent


class _Pending:
    """The key of this run, kept so the full pipeline can remember its verdict.
    (A plain class: dataclasses costs this module's start-up 15 ms.)"""

    def __init__(self, key: str) -> None:
        self.key = key
        self.answers: dict[str, bytes] | None = None  # set by apply when the run qualifies
        self.url: str | None = None


PENDING: _Pending | None = None


def _apply_args(argv: list[str]) -> tuple[str, str | None, bool] | None:
    """(manifest, --host, quiet) for `apply [FILE] [-q] [--host URL]`, else None."""
    file: str | None = None
    host: str | None = None
    quiet = False
    args = iter(argv)
    if next(args, None) != "apply":
        return None
    for arg in args:
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--host":
            host = next(args, None)
            if host is None:
                return None
        elif arg.startswith("--host="):
            host = arg.removeprefix("--host=")
        elif arg.startswith("-") or file is not None:
            return None  # an option that may change the answer, or `-` (stdin)
        else:
            file = arg
    return file or "models.yaml", host, quiet


def _code_stamp() -> list[tuple[str, int, int]]:
    """This tool's files: an upgrade or an edit is a different key."""
    stamp = []
    for root in (_PACKAGE, _PACKAGE.parent / "schemas"):
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith((".py", ".json")):
                    st = os.stat(os.path.join(folder, name))
                    stamp.append((os.path.join(folder, name), st.st_size, st.st_mtime_ns))
    return sorted(stamp)


def _key(argv: list[str], manifest: Path, text: bytes) -> str | None:
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        return None  # apply appends a summary there: not a replayable output
    try:
        lock: bytes | None = lock_path(manifest).read_bytes()
    except FileNotFoundError:
        lock = None
    used = {m.decode() for m in _VARIABLE.findall(text)}
    env = sorted(
        (k, v) for k, v in os.environ.items() if k in used or _ENV.match(k) or _PROXY.match(k)
    )
    material = {
        "argv": argv,
        "cwd": os.getcwd(),
        "python": sys.version,
        "env": env,
        "tty": [sys.stdout.isatty(), sys.stderr.isatty()],
        "manifest": hashlib.sha256(text).hexdigest(),
        "lock": hashlib.sha256(lock).hexdigest() if lock is not None else None,
        "code": _code_stamp(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _folder() -> Path:
    return cache_root() / "in-sync"


def _ask(url: str) -> dict[str, bytes] | None:
    """The two answers, or None when anything is unusual (then the full pipeline runs)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or "@" in parts.netloc:
        return None
    if any(os.environ.get(name) for name in _PROXIES):
        return None  # httpx would go through the proxy; this asks directly: not the same
    answers = {}
    for _, path in QUESTIONS:
        body = _get(parts.hostname, parts.port or 80, parts.netloc, path)
        if body is None:
            return None
        answers[path] = body
    return answers


_PROXIES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_LIMIT = 64 * 1024 * 1024  # a longer /api/tags is not worth remembering


def _get(host: str, port: int, netloc: str, path: str) -> bytes | None:
    """The body of a 200 answer to GET path, else None. A plain socket, not http.client:
    http.client imports the email package, a third of this module's start-up."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nAccept: application/json\r\n"
        "Connection: close\r\n\r\n"
    )
    received = bytearray()
    try:
        with socket.create_connection((host, port), timeout=_TIMEOUT) as connection:
            connection.sendall(request.encode("ascii"))
            while len(received) <= _LIMIT:
                block = connection.recv(1 << 16)
                if not block:
                    break
                received += block
            else:
                return None
    except (OSError, UnicodeEncodeError):
        return None
    return _body(bytes(received))


def _body(answer: bytes) -> bytes | None:
    head, blank, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ", 2)
    if not blank or len(status) < 2 or status[1] != b"200":
        return None
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    if fields.get(b"transfer-encoding") == b"chunked":
        return _dechunk(body)
    if b"content-length" in fields:
        try:
            length = int(fields[b"content-length"])
        except ValueError:
            return None
        return body if len(body) == length else None
    return body  # read to the end of the connection


def _dechunk(data: bytes) -> bytes | None:
    out = bytearray()
    while True:
        size_line, found, data = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0], 16)
        except ValueError:
            return None
        if not found or size < 0:
            return None
        if size == 0:
            return bytes(out)
        if data[size : size + 2] != b"\r\n":
            return None  # cut short
        out += data[:size]
        data = data[size + 2 :]


def _canonical(body: bytes) -> bytes:
    """The answer without what does not matter: Ollama lists models in an order that
    can change between two identical requests (seen on 0.11.4), and the verdict
    never depends on that order (the lines it prints count models, never list them)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        data["models"] = sorted(data["models"], key=lambda m: json.dumps(m, sort_keys=True))
    return json.dumps(data, sort_keys=True).encode()


def _digest(answers: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(_canonical(body)).hexdigest() for path, body in answers.items()}


def replay_or_arm(argv: list[str]) -> None:
    """Print a remembered verdict and exit 0 when it still holds; otherwise note this
    run's key (PENDING) so the full pipeline can remember its own verdict."""
    global PENDING
    parsed = _apply_args(argv)
    if parsed is None or os.environ.get("OLLAMA_PROVISION_REPLAY") == "0":
        return
    file, _, _ = parsed
    manifest = Path(file)
    try:
        if not manifest.is_file():
            return
        text = manifest.read_bytes()
    except OSError:
        return
    key = _key(argv, manifest.resolve(), text)
    if key is None:
        return
    PENDING = _Pending(key)
    try:
        verdict = json.loads((_folder() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    answers = _ask(verdict["url"])
    if answers is None or _digest(answers) != verdict["answers"]:
        return
    try:
        for stream, text_written in verdict["output"]:
            (sys.stdout if stream == 1 else sys.stderr).write(text_written)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`apply | head -1`): end quietly, as the CLI does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


def qualifies(url: str, answers: dict[str, bytes]) -> None:
    """Called by apply when it found the server in sync by the two questions alone."""
    if PENDING is not None and set(answers) == {path for _, path in QUESTIONS}:
        PENDING.url, PENDING.answers = url, answers


def remember(output: list[tuple[int, str]]) -> None:
    """Keep this run's verdict (after a 0 exit), written atomically; a cache that
    cannot be written only costs time next run."""
    if PENDING is None or PENDING.answers is None or PENDING.url is None:
        return
    verdict: dict[str, object] = {
        "url": PENDING.url,
        "answers": _digest(PENDING.answers),
        "output": output,
    }
    # Here, not at the top: a replay must not pay for it (this runs only after the
    # full pipeline).
    from provisioner.atomic import write_atomically

    folder = _folder()
    with contextlib.suppress(OSError):
        # 0600: the verdict holds printed output, which may name private models.
        write_atomically(folder / f"{PENDING.key}.json", json.dumps(verdict), mode=0o600)
        _trim(folder)


_KEEP = 64  # verdicts kept; a new tool version or folder makes new keys


def _trim(folder: Path) -> None:
    """Keep the newest verdicts only, so the folder cannot grow without bound."""
    verdicts = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in verdicts[_KEEP:]:
        old.unlink(missing_ok=True)
