"""Model references, parsed and normalized exactly as Ollama does.

Mirrors the behaviour of Ollama's `types/model/name.go` (ParseNameBare, Merge
with defaults, isValidPart, DisplayShortest). Names compare case-insensitively
on all four parts and never by prefix: `llama3.2` is not `llama3.2:1b`.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import InvalidName

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
_MISSING = "!MISSING!"

# Maximum length of each part, from Ollama's isValidLen.
_MAX_LEN = {"host": 350, "namespace": 80, "model": 80, "tag": 80}


Key = tuple[str, str, str, str]  # a name's normalized, case-folded identity


@dataclass(frozen=True)
class ModelName:
    """A fully qualified model reference: host/namespace/model:tag."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> Key:
        """The identity used for comparison: every part folded to lower case."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    @property
    def display(self) -> str:
        """The shortest form, as /api/tags shows it (the tag is always shown)."""
        if self.host.lower() != DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        else:
            prefix = ""
        return f"{prefix}{self.model}:{self.tag}"

    @property
    def repository(self) -> str:
        """namespace/model, the path a registry serves it under."""
        return f"{self.namespace}/{self.model}"

    def same_as(self, other: ModelName) -> bool:
        return self.key == other.key

    def __str__(self) -> str:
        return self.display


def _cut_last(s: str, sep: str) -> tuple[str, str, bool]:
    i = s.rfind(sep)
    if i < 0:
        return s, "", False
    before, after = s[:i], s[i + len(sep) :]
    return before or _MISSING, after or _MISSING, True


def parse_bare(text: str) -> tuple[str, str, str, str]:
    """Split a reference into (host, namespace, model, tag), empty where absent."""
    host = namespace = tag = ""
    s = text
    # ':' after the last '/' starts the tag; before it, it belongs to a host:port.
    if s.rfind(":") > s.rfind("/"):
        s, tag, _ = _cut_last(s, ":")
    s, model, cut = _cut_last(s, "/")
    if not cut:
        return host, namespace, s, tag
    s, namespace, cut = _cut_last(s, "/")
    if not cut:
        return host, s, model, tag
    scheme, sep, rest = s.partition("://")
    host = rest if sep else scheme
    return host, namespace, model, tag


def _valid_part(kind: str, part: str) -> bool:
    if not 1 <= len(part) <= _MAX_LEN[kind]:
        return False
    for i, ch in enumerate(part):
        alnum = ch.isascii() and (ch.isalnum() or ch == "_")
        if i == 0:
            if not alnum:
                return False
        elif ch in "-_":
            continue
        elif ch == ".":
            if kind == "namespace":
                return False
        elif ch == ":":
            if kind != "host":
                return False
        elif not alnum:
            return False
    return True


def invalid_reason(text: str) -> str | None:
    """Why Ollama would reject this reference, or None when it is valid."""
    host, namespace, model, tag = parse_bare(text)
    parts = {
        "host": host or DEFAULT_HOST,
        "namespace": namespace or DEFAULT_NAMESPACE,
        "model": model,
        "tag": tag or DEFAULT_TAG,
    }
    for kind, part in parts.items():
        if part == _MISSING or part == "":
            return f"the {kind} is empty"
        if not _valid_part(kind, part):
            if kind == "host" and "/" in part:
                return "too many '/' separators (at most host/namespace/model:tag)"
            if kind == "namespace" and ":" in part:
                return "a host needs a namespace too (host:port/namespace/model)"
            return f"invalid {kind} {part!r}"
    return None


def parse_name(text: str) -> ModelName:
    """Parse and fill in defaults; raise InvalidName if Ollama would reject it."""
    reason = invalid_reason(text)
    if reason is not None:
        raise InvalidName(f"invalid model name {text!r}: {reason}")
    host, namespace, model, tag = parse_bare(text)
    return ModelName(
        host=host or DEFAULT_HOST,
        namespace=namespace or DEFAULT_NAMESPACE,
        model=model,
        tag=tag or DEFAULT_TAG,
    )


def source_selector_warning(name: ModelName) -> str | None:
    """Newer Ollama (v0.32) reads tags `local`, `cloud` and `*-cloud` as source selectors."""
    tag = name.tag.lower()
    if tag in ("local", "cloud") or tag.endswith("-cloud"):
        return f"tag {name.tag!r} is read by newer Ollama as a source selector; choose another tag"
    return None
