"""Where models are copied from and to: `HOST[:PORT][/PREFIX]` or `oci:PATH`.

A registry destination keeps each model's namespace/model:tag and swaps the
host: `registry.ollama.ai/library/llama3.2:latest` mirrored to `mirror.corp:5000`
is `mirror.corp:5000/library/llama3.2:latest`. A PREFIX (one path segment) takes
the place of the namespace, as in the manifest's `mirrors:` (manifest/mirrors.py):
Ollama pulls only host/namespace/model names, so `mirror.corp:5000/ollama` holds
`ollama/llama3.2`, which Ollama can pull, not `ollama/library/llama3.2`, which it
cannot. Two models that would share a repository there are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import UsageError
from provisioner.names import ModelName

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_PREFIX_PART = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")  # the distribution grammar


@dataclass(frozen=True)
class RegistryLocation:
    host: str  # host[:port], lower case
    prefix: str = ""  # one path segment that replaces the namespace ("" keeps it)
    insecure: bool = False  # plain http

    def repository(self, name: ModelName) -> str:
        """The repository `name` has at this registry (lower case, as registries serve)."""
        return f"{self.prefix or name.namespace}/{name.model}".lower()

    def __str__(self) -> str:
        return f"{self.host}/{self.prefix}" if self.prefix else self.host


@dataclass(frozen=True)
class LayoutLocation:
    path: Path

    def __str__(self) -> str:
        return f"oci:{self.path}"


Location = RegistryLocation | LayoutLocation


def parse_location(text: str, *, insecure: bool = False, option: str = "--to") -> Location:
    """Parse a DEST or --from value; a bad one is a UsageError naming the option."""
    raw = text.strip()
    if raw.startswith("oci:"):
        path = raw.removeprefix("oci:")
        if not path:
            raise UsageError(f"{option} oci: needs a folder: oci:PATH")
        return LayoutLocation(Path(path).expanduser())
    scheme, sep, rest = raw.partition("://")
    if sep:
        if scheme not in ("http", "https"):
            raise UsageError(f"{option} {text!r}: a registry is HOST[:PORT][/PREFIX] or oci:PATH")
        insecure = insecure or scheme == "http"
        raw = rest
    if raw.startswith(("/", ".", "~")):
        raise UsageError(f"{option} {text!r}: a folder is written oci:PATH (oci:{raw})")
    host, _, prefix = raw.partition("/")
    prefix = prefix.strip("/")
    if not _HOST.match(host):
        raise UsageError(
            f"{option} {text!r}: {host!r} is not a registry host; "
            "give HOST[:PORT][/PREFIX] (e.g. mirror.corp:5000/ollama) or oci:PATH"
        )
    if "/" in prefix:
        raise UsageError(
            f"{option} {text!r}: a prefix is one path segment (it takes the place of the "
            "namespace: Ollama pulls only host/namespace/model), e.g. mirror.corp:5000/ollama"
        )
    if prefix and not _PREFIX_PART.match(prefix):
        raise UsageError(
            f"{option} {text!r}: the path prefix {prefix!r} is not a valid repository "
            "name part (lower-case letters, digits and . _ - between them)"
        )
    return RegistryLocation(host.lower(), prefix, insecure)
