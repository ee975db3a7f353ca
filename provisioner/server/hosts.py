"""Which server to talk to: --host, else the manifest, else OLLAMA_HOST, else the default.

Values are parsed the way Ollama parses OLLAMA_HOST (envconfig.Host): spaces
and quotes trimmed, scheme defaults to http, default port 11434 without a
scheme, 80 for http:// and 443 for https://, a path is kept as base path.
One deliberate difference: a bind-all address (0.0.0.0, ::, or no host at
all) says where a *server* listens, not where a client should connect, so we
connect to the loopback address of the same family instead.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from provisioner.errors import UsageError

DEFAULT_PORT = 11434


@dataclass(frozen=True)
class ResolvedHost:
    url: str  # base URL without a trailing slash, e.g. http://127.0.0.1:11434
    source: str  # "--host", "manifest", "OLLAMA_HOST" or "default"
    # Said with the answer and with a failure alike: the address was rewritten
    # (bind-all -> loopback), or a set OLLAMA_HOST was not used.
    notes: tuple[str, ...] = ()


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort, enough for host:port and [v6]:port."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or not hostport[end + 1 :].startswith(":"):
            return None
        return hostport[1:end], hostport[end + 2 :]
    if hostport.count(":") != 1:
        return None
    host, port = hostport.split(":")
    return host, port


def masked(value: str) -> str:
    """The address as messages may repeat it: the password of a user:password@ is ***."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return value
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hostport}{slash}{path}"


def parse_host(value: str) -> tuple[str, str | None]:
    """Return (base URL, note) for an OLLAMA_HOST-style value; UsageError when it
    names another scheme than http or https."""
    s = value.strip().strip("\"'").strip()
    scheme, sep, hostport = s.partition("://")
    default_port = str(DEFAULT_PORT)
    if not sep:
        scheme, hostport = "http", s
    elif scheme.lower() == "http":
        scheme, default_port = "http", "80"
    elif scheme.lower() == "https":
        scheme, default_port = "https", "443"
    else:
        raise UsageError(f"'{masked(value)}' is not an Ollama address: use http:// or https://")
    if any(c.isspace() for c in hostport) or "@" in hostport.partition("/")[0]:
        raise UsageError(
            f"'{masked(value)}' is not an Ollama address: host[:port] has no spaces or @"
        )
    hostport, _, path = hostport.partition("/")
    split = _split_host_port(hostport)
    if split is None:
        host, port = "127.0.0.1", default_port
        if hostport:
            host = hostport.strip("[]")
    else:
        host, port = split
    if not port.isdigit() or int(port) > 65535:
        port = default_port
    note = None
    if host in ("", "0.0.0.0", "::", "[::]"):
        loopback = "::1" if ":" in host else "127.0.0.1"
        note = f"{host or '(empty host)'} is a listen address; connecting to {loopback} instead"
        host = loopback
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    netloc = f"[{host}]:{port}" if is_v6 else f"{host}:{port}"
    base = f"{scheme}://{netloc}"
    if path:
        base += "/" + path.strip("/")
    return base, note


def resolve_host(
    cli_host: str | None, manifest_host: str | None, *, cli_source: str = "--host"
) -> ResolvedHost:
    """Apply the precedence --host > manifest > OLLAMA_HOST > default. cli_source names
    where cli_host came from when that is not --host (an inventory's server entry)."""
    env = os.environ.get("OLLAMA_HOST")
    for value, source in (
        (cli_host, cli_source),
        (manifest_host, "manifest"),
        (env, "OLLAMA_HOST"),
    ):
        if value and value.strip():
            try:
                url, note = parse_host(value)
            except UsageError as e:
                where = "server.host in the manifest" if source == "manifest" else source
                raise UsageError(f"{where}: {e}") from None
            notes: tuple[str, ...] = (note,) if note else ()
            if source != "OLLAMA_HOST" and env and env.strip():
                notes += (_unused_env(env, source),)
            return ResolvedHost(url=url, source=source, notes=notes)
    return ResolvedHost(url=f"http://127.0.0.1:{DEFAULT_PORT}", source="default")


def _unused_env(env: str, source: str) -> str:
    first = "the manifest's server.host" if source == "manifest" else source
    return f"OLLAMA_HOST={masked(env.strip())} not used: {first} comes first"
