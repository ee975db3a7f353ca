"""The inventory (`--inventory FILE`): the servers of a fleet, their labels and settings.

Read like a manifest: the same YAML reader (positions, no duplicate keys),
${VAR} expansion, a JSON Schema (schemas/inventory.schema.json) and problems
given as file:line:col. Header values are secrets, as in a manifest.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import secrets
from provisioner.custom.files import read_regular
from provisioner.errors import InvalidDuration, ManifestError, Position, Problem, UsageError
from provisioner.manifest.durations import timeout_seconds
from provisioner.manifest.findings import Findings
from provisioner.manifest.interpolate import expand_tree
from provisioner.manifest.labels import labels_of
from provisioner.manifest.schema import check
from provisioner.manifest.yaml_loader import compose, to_plain
from provisioner.server.hosts import parse_host, resolve_host

SCHEMA_NAME = "inventory.schema.json"
MAX_INVENTORY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Server:
    name: str
    host: str  # as written; checked to be an Ollama address
    labels: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # secrets: never print values
    timeout: float | None = None  # seconds
    # Where the address came from, for the hint when it is down: "--host", "manifest",
    # "OLLAMA_HOST", "default", or "the host of 'gpu-1' in fleet.yaml".
    origin: str = "--host"


def from_hosts(hosts: Sequence[str]) -> tuple[Server, ...]:
    """Servers given by --host: named by their address, no labels. A repeated address
    is one server (it would be converged twice at once otherwise)."""
    servers: dict[str, Server] = {}
    for host in hosts:
        url, _ = parse_host(host)
        name = url.split("://", 1)[1]
        servers.setdefault(url, Server(name=name, host=host))
    return tuple(servers.values())


def resolved(manifest_host: str | None) -> Server:
    """The one server of a run without --host or --inventory: the manifest's
    server.host, else OLLAMA_HOST, else the default."""
    target = resolve_host(None, manifest_host)
    return Server(name=target.url.split("://", 1)[1], host=target.url, origin=target.source)


def load_inventory(path: str | Path, *, env: Mapping[str, str] | None = None) -> tuple[Server, ...]:
    """Read and check an inventory; ManifestError lists every problem with its place."""
    p = Path(path)
    file = str(p)
    try:
        raw = read_regular(p, MAX_INVENTORY_BYTES)
    except OSError as e:
        reason = "larger than 4 MiB" if e.errno == errno.EFBIG else (e.strerror or str(e))
        raise _fail(file, f"cannot read the inventory: {reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(file, "the inventory is not valid UTF-8; save it as UTF-8") from None
    root, yaml_problems, flagged = compose(text, file)
    if root is None:
        message = "the inventory is empty; start with 'servers:' and a list of name/host entries"
        raise ManifestError(yaml_problems or [Problem(Position(file, 1, 1), "", message)])
    env_problems, unset = expand_tree(root, text, file, os.environ if env is None else env)
    data = to_plain(root)
    findings = Findings(file, root, data, quiet=unset | flagged)
    for problem in [*yaml_problems, *env_problems]:
        findings.add(problem)
    for issue in check(data, SCHEMA_NAME):
        if not findings.reported(issue.path):
            findings.problem(issue.path, issue.message, key=issue.at_key)
    servers = _servers(data, findings, file) if not findings.problems else ()
    if findings.problems:
        raise ManifestError(findings.problems)
    return servers


def _servers(data: dict[str, Any], findings: Findings, file: str) -> tuple[Server, ...]:
    servers: list[Server] = []
    first: dict[str, int] = {}
    hosts: dict[str, int] = {}
    for i, entry in enumerate(data["servers"]):
        name, host = entry["name"], entry["host"]
        if name.lower() in first:
            line = findings.at(("servers", first[name.lower()], "name")).line
            findings.problem(("servers", i, "name"), f"server name '{name}' is used twice "
                             f"(first on line {line}); give each server its own name")  # fmt: skip
            continue
        first[name.lower()] = i
        try:
            url, _ = parse_host(host)
        except UsageError as e:
            findings.problem(("servers", i, "host"), f"{e} (server '{name}')")
            continue
        if url in hosts:
            line = findings.at(("servers", hosts[url], "host")).line
            findings.problem(("servers", i, "host"), f"server '{name}' has the address of the "
                             f"server on line {line}; list each server once")  # fmt: skip
            continue
        hosts[url] = i
        timeout = None
        if "timeout" in entry:
            try:
                timeout = timeout_seconds(entry["timeout"])
            except InvalidDuration as e:
                findings.problem(("servers", i, "timeout"), f"invalid 'timeout' of '{name}': {e}")
                continue
        headers = {str(k): str(v) for k, v in entry.get("headers", {}).items()}
        secrets.register(headers.values())
        servers.append(
            Server(
                name,
                host,
                labels_of(entry.get("labels")),
                headers,
                timeout,
                origin=f"the host of '{name}' in {file}",
            )
        )
    return tuple(servers)


def _fail(file: str, message: str) -> ManifestError:
    return ManifestError([Problem(Position(file, 1, 1), "", message)])
