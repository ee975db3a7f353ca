"""The manifest's top-level settings: `server`, `defaults`, `mirrors`, `prune`.

Each reads schema-valid data into its type and reports what a schema cannot
see (a host with credentials in it, a header value HTTP cannot carry, a mirror
of itself). Entries that already have a problem of their own are left out.
"""

from __future__ import annotations

from typing import Any

from provisioner.errors import InvalidDuration
from provisioner.manifest.durations import keep_alive_value, timeout_seconds
from provisioner.manifest.findings import Findings, Path_
from provisioner.manifest.mirrors import split_to
from provisioner.manifest.schema import subject
from provisioner.types.manifest import Mirror, PruneSettings, ServerSettings


def section(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A top-level mapping, or {} when it is missing or not a mapping."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def usable(findings: Findings, entries: dict[str, Any], path: Path_) -> dict[str, Any]:
    """The entries of a mapping whose values have no problem of their own yet."""
    return {k: v for k, v in entries.items() if not findings.reported((*path, k))}


def server_settings(findings: Findings, server: dict[str, Any]) -> ServerSettings:
    """`server:`; its header values are secrets (the caller registers them)."""
    server = usable(findings, server, ("server",))
    host = server.get("host")
    if isinstance(host, str) and "://" in host:
        scheme = host.split("://", 1)[0]
        if scheme.lower() not in ("http", "https"):
            findings.problem(
                ("server", "host"),
                f"'host' in 'server' must use http:// or https://, not {scheme}://",
            )
    if isinstance(host, str) and "@" in host.partition("://")[2].partition("/")[0]:
        findings.problem(
            ("server", "host"),
            "'host' in 'server' must not carry user:password@; send credentials as a "
            "header (server.headers.Authorization), whose value is never printed",
        )
    headers = usable(findings, server.get("headers", {}), ("server", "headers"))
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            findings.problem(
                ("server", "headers", name),
                f"the value of header '{name}' contains a line break; remove it",
                key=True,
            )
        elif not value.isascii():
            findings.problem(
                ("server", "headers", name),
                f"the value of header '{name}' has characters HTTP headers cannot carry "
                "(only ASCII); encode it (e.g. base64) as the server expects",
                key=True,
            )
    timeout = None
    if "timeout" in server:
        try:
            timeout = timeout_seconds(server["timeout"])
        except InvalidDuration as e:
            findings.problem(("server", "timeout"), f"invalid 'timeout' in 'server': {e}")
    return ServerSettings(host=host, headers=dict(headers), timeout=timeout)


def defaults_of(findings: Findings, defaults: dict[str, Any]) -> dict[str, Any]:
    """`defaults:`, with keep_alive read as Ollama reads it."""
    result = usable(findings, defaults, ("defaults",))
    if "keep_alive" in result:
        result["keep_alive"] = keep_alive(
            findings, result["keep_alive"], ("defaults", "keep_alive")
        )
    return result


def keep_alive(findings: Findings, value: Any, path: Path_) -> int | str | None:
    try:
        return keep_alive_value(value)
    except InvalidDuration as e:
        findings.problem(path, f"invalid {subject(path, findings.data)}: {e}")
        return None


def mirror_entries(findings: Findings, mirrors_section: dict[str, Any]) -> dict[str, Mirror]:
    """`mirrors:` by source host; a mirror of itself and a source written twice are problems
    (two models landing on one mirror name are checked across models)."""
    mirrors: dict[str, Mirror] = {}
    for source, value in usable(findings, mirrors_section, ("mirrors",)).items():
        path: Path_ = ("mirrors", source)
        to = value if isinstance(value, str) else value.get("to")
        if not isinstance(to, str):
            continue
        host, prefix = split_to(to)
        insecure = isinstance(value, dict) and value.get("insecure") is True
        mirror = Mirror(source.lower(), host, prefix, insecure)
        if mirror.source in mirrors:
            findings.problem(
                path, f"registry '{source}' has a mirror already; keep one entry", key=True
            )
        elif host.lower() == mirror.source:
            findings.problem(path, f"the mirror of '{source}' is itself; name another registry")
        else:
            mirrors[mirror.source] = mirror
    return mirrors


def prune_settings(findings: Findings, prune_section: dict[str, Any]) -> PruneSettings:
    prune = usable(findings, prune_section, ("prune",))
    keep = prune.get("keep")
    return PruneSettings(
        enabled=prune.get("enabled") is True,
        keep=tuple(k for k in keep if isinstance(k, str)) if isinstance(keep, list) else (),
    )
