"""A saved plan (`plan --out FILE`, `apply FILE`): the plan as a document, with a
fingerprint of what it was made from, applied exactly or refused as stale.

What the fingerprint holds: the manifest's and the lock's bytes (sha256), and for
each server its address, its version and its model list (names and digests,
sha256). `apply PLANFILE` checks, in this order and stopping at the first that
fails: the file itself (JSON, kind, format_version, the published schema, and a
checksum over the rest, so an action added by hand is refused before any
request); the manifest and lock bytes; each server's version and model list (two
requests); then the plan made again from all that must list the same actions.
Only then does it change anything, and it does what the re-made plan says, which
is what was saved. A secret never enters the file: header values stay in the
manifest (as ${VAR}) and are resolved when the plan is applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from provisioner.atomic import write_atomically
from provisioner.custom.files import read_regular
from provisioner.errors import StalePlan, UsageError
from provisioner.manifest.load import MAX_MANIFEST_BYTES, STDIN, load_manifest
from provisioner.manifest.lock import lock_path
from provisioner.manifest.schema import load_schema
from provisioner.reconcile.actions import Action, Copy, Pull, reason
from provisioner.reconcile.plan import Plan
from provisioner.types.manifest import Manifest

if TYPE_CHECKING:
    from provisioner.reconcile.core import Planned

KIND = "saved-plan"
FORMAT_VERSION = 1
MAX_PLAN_FILE_BYTES = 16 << 20
SCHEMA = "plan-file.schema.json"


@dataclass(frozen=True)
class SavedServer:
    name: str  # the inventory's name, or the address for one server
    url: str
    version: str
    models_sha256: str  # of the server's model list when the plan was made
    actions: tuple[str, ...]  # one line per action: what it does to which model, and why


@dataclass(frozen=True)
class SavedPlan:
    manifest: Path  # absolute
    manifest_sha256: str
    lock_sha256: str | None  # None: no lock beside the manifest
    servers: tuple[SavedServer, ...]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def models_fingerprint(models: Iterable[tuple[str, str]]) -> str:
    """The sha256 of a server's (name, digest) list, in any order Ollama sends it."""
    listed = sorted((name.lower(), digest) for name, digest in models)
    return sha256(json.dumps(listed, separators=(",", ":")).encode())


def action_line(action: Action) -> str:
    """An action's identity as the file keeps it: kind, model, source, and why."""
    match action:
        case Pull(source=source) if source is not None:
            target = f"{action.model.display} <- {source.name.display}"
        case Copy(source=source):
            target = f"{action.model.display} <- {source.display}"
        case _:
            target = action.model.display
    pin = f" @{action.pin.digest}" if isinstance(action, Pull) and action.pin else ""
    return f"{action.kind} {target}{pin} ({reason(action)})"


def saved_server(name: str, url: str, plan: Plan, models: Iterable[tuple[str, str]]) -> SavedServer:
    return SavedServer(
        name=name,
        url=url,
        version=plan.server_version,
        models_sha256=models_fingerprint(models),
        actions=tuple(action_line(a) for a in plan.actions),
    )


def _body(saved: SavedPlan, tool_version: str) -> dict[str, Any]:
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "tool_version": tool_version,
        "manifest": {
            "path": str(saved.manifest),
            "sha256": saved.manifest_sha256,
            "lock_sha256": saved.lock_sha256,
        },
        "servers": [
            {
                "name": s.name,
                "server": s.url,
                "server_version": s.version,
                "models_sha256": s.models_sha256,
                "actions": list(s.actions),
            }
            for s in saved.servers
        ],
    }


def _checksum(body: Mapping[str, Any]) -> str:
    return sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def plan_file_text(saved: SavedPlan, tool_version: str) -> str:
    """The file's text: the body and a checksum over it (edits by hand are refused)."""
    body = _body(saved, tool_version)
    return json.dumps({**body, "checksum": _checksum(body)}, indent=2) + "\n"


def read_plan_file(path: Path) -> SavedPlan:
    """A saved plan, or UsageError in one line naming the file and what to do."""
    again = "make it again with `plan --out`"
    try:
        data = json.loads(read_regular(path, MAX_PLAN_FILE_BYTES))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else f"not JSON ({e})"
        raise UsageError(f"{path}: cannot read the plan file: {why}; {again}") from e
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise UsageError(f"{path}: not a plan file of ollama-provision; {again}")
    if data.get("format_version") != FORMAT_VERSION:
        raise UsageError(
            f"{path}: plan file format_version {data.get('format_version')!r} is not "
            f"{FORMAT_VERSION}, the one this version reads; {again}"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(load_schema(SCHEMA)).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise UsageError(f"{path}: the plan file is not valid at {where}: {error.message}; {again}")
    body = {k: v for k, v in data.items() if k != "checksum"}
    if data["checksum"] != _checksum(body):
        raise UsageError(
            f"{path}: the plan file was changed after it was made (its checksum does not "
            f"match); {again}"
        )
    manifest = data["manifest"]
    return SavedPlan(
        manifest=Path(manifest["path"]),
        manifest_sha256=manifest["sha256"],
        lock_sha256=manifest["lock_sha256"],
        servers=tuple(
            SavedServer(
                s["name"], s["server"], s["server_version"], s["models_sha256"], tuple(s["actions"])
            )
            for s in data["servers"]
        ),
    )


def check_inputs(saved: SavedPlan, manifest_bytes: bytes, lock_bytes: bytes | None) -> None:
    """StalePlan when the manifest or the lock is not what the plan was made from."""
    if sha256(manifest_bytes) != saved.manifest_sha256:
        raise StalePlan(
            f"the plan is stale: {saved.manifest} changed since it was made: plan again"
        )
    have = sha256(lock_bytes) if lock_bytes is not None else None
    if have != saved.lock_sha256:
        was = "written" if have is not None and saved.lock_sha256 is None else "changed"
        raise StalePlan(f"the plan is stale: the lock was {was} since it was made: plan again")


def check_server(saved: SavedServer, version: str, models: Iterable[tuple[str, str]]) -> None:
    """StalePlan when the server's version or model list moved since the plan."""
    if version != saved.version:
        raise StalePlan(
            f"the plan is stale: {saved.name} changed since it was made (Ollama "
            f"{saved.version} then, {version} now): plan again"
        )
    if models_fingerprint(models) != saved.models_sha256:
        raise StalePlan(
            f"the plan is stale: {saved.name} changed since it was made (its model list "
            f"differs): plan again"
        )


def check_actions(saved: SavedServer, plan: Plan) -> None:
    """StalePlan when the plan made again would not do exactly what was saved."""
    now = tuple(action_line(a) for a in plan.actions)
    if now == saved.actions:
        return
    gone = [a for a in saved.actions if a not in now]
    new = [a for a in now if a not in saved.actions]
    said = "; ".join([*(f"no longer: {a}" for a in gone[:2]), *(f"now: {a}" for a in new[:2])])
    raise StalePlan(
        f"the plan is stale: {saved.name} changed since it was made "
        f"({said or 'the order of its actions differs'}): plan again"
    )


def find_server(saved: SavedPlan, names: Sequence[str]) -> dict[str, SavedServer]:
    """The saved plan of each server by name; StalePlan when the servers differ."""
    by_name = {s.name: s for s in saved.servers}
    if sorted(by_name) != sorted(names):
        raise StalePlan(
            f"the plan is stale: it was made for {', '.join(sorted(by_name))}, not "
            f"{', '.join(sorted(names))}: plan again"
        )
    return by_name


def looks_like_plan_file(path: str) -> bool:
    """Whether `apply PATH` was given a saved plan rather than a manifest: its start
    names the kind (so a plan file broken by hand is still read as one, and refused)."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as f:
            return f'"{KIND}"'.encode() in f.read(4096)
    except OSError:
        return False


def _inputs(manifest_path: Path) -> tuple[bytes, bytes | None]:
    """The manifest's bytes and its lock's (None: no lock)."""
    manifest = read_regular(manifest_path, MAX_MANIFEST_BYTES)
    try:
        lock: bytes | None = read_regular(lock_path(manifest_path), MAX_PLAN_FILE_BYTES)
    except FileNotFoundError:
        lock = None
    return manifest, lock


def server_models(planned: Planned) -> list[tuple[str, str]]:
    return [(m.name.display, m.digest) for m in planned.state.models]


def save_plan(
    out: Path, manifest: Manifest, servers: Sequence[tuple[str, Planned]], tool_version: str
) -> None:
    """Write the plans of `servers` (name, planned) to `out`, atomically."""
    if manifest.path.name == STDIN:
        raise UsageError("plan --out needs a manifest file, not standard input")
    manifest_bytes, lock_bytes = _inputs(manifest.path)
    saved = SavedPlan(
        manifest=manifest.path,
        manifest_sha256=sha256(manifest_bytes),
        lock_sha256=sha256(lock_bytes) if lock_bytes is not None else None,
        servers=tuple(
            saved_server(name, p.target.url, p.plan, server_models(p)) for name, p in servers
        ),
    )
    write_atomically(out, plan_file_text(saved, tool_version))


def open_saved(path: Path) -> tuple[SavedPlan, Manifest]:
    """The saved plan and its manifest, loaded again; refused (UsageError, StalePlan)
    before any request when the file or the files it was made from changed."""
    saved = read_plan_file(path)
    try:
        manifest_bytes, lock_bytes = _inputs(saved.manifest)
    except FileNotFoundError as e:
        raise StalePlan(
            f"the plan is stale: {saved.manifest}, which it was made from, is gone: plan again"
        ) from e
    check_inputs(saved, manifest_bytes, lock_bytes)
    return saved, load_manifest(saved.manifest)


def guard(saved: SavedServer) -> Callable[[Planned], None]:
    """A check for the core's on_plan hook (called before any change): the server and
    the plan made again must be what was saved, else StalePlan and nothing changes."""

    def check(planned: Planned) -> None:
        check_server(saved, planned.plan.server_version, server_models(planned))
        check_actions(saved, planned.plan)

    return check
