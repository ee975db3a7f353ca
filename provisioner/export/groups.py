"""/api/tags entries grouped into models, their names ranked, and how their registry
speaks (see the rules in build.py: aliases, insecure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import InvalidName
from provisioner.names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName, parse_name
from provisioner.types.wire import TagEntry


@dataclass(frozen=True)
class Group:
    """The names that share one /api/tags digest: one model."""

    digest: str
    names: tuple[ModelName, ...]  # canonical first
    details: Mapping[str, Any] = field(default_factory=dict)  # from /api/tags

    @property
    def canonical(self) -> ModelName:
        return self.names[0]

    @property
    def aliases(self) -> tuple[ModelName, ...]:
        return self.names[1:]


def canonical_rank(name: ModelName) -> tuple[bool, bool, int, str, str]:
    """Sort key: a registry host first, then a namespace, then shortest, then alphabetical."""
    shown = name.display
    return (
        name.host.lower() == DEFAULT_HOST,
        name.namespace.lower() == DEFAULT_NAMESPACE,
        len(shown),
        shown.lower(),
        shown,
    )


def group_tags(tags: Sequence[TagEntry]) -> tuple[tuple[Group, ...], tuple[str, ...]]:
    """Group /api/tags entries by digest; also return the names that do not parse."""
    by_digest: dict[str, list[ModelName]] = {}
    details: dict[str, Mapping[str, Any]] = {}
    skipped = []
    for entry in tags:
        try:
            name = parse_name(entry.name)
        except InvalidName:
            skipped.append(entry.name)
            continue
        by_digest.setdefault(entry.digest, []).append(name)
        details.setdefault(entry.digest, entry.details)
    groups = [
        Group(digest, tuple(sorted(names, key=canonical_rank)), details[digest])
        for digest, names in by_digest.items()
    ]
    groups.sort(key=lambda g: (g.canonical.display.lower(), g.canonical.display))
    return tuple(groups), tuple(skipped)


def plain_http_likely(host: str) -> bool:
    """Whether a registry host is loopback or private, where plain http is the norm."""
    if host.lower() == DEFAULT_HOST:
        return False
    bare = host
    if bare.startswith("["):
        bare = bare[1:].split("]", 1)[0]
    elif bare.count(":") == 1:
        bare = bare.split(":", 1)[0]
    bare = bare.lower()
    if bare == "localhost" or bare.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def insecure_note(name: ModelName) -> tuple[bool, str | None]:
    """(insecure, comment) for a model pulled by this name, by the rule above."""
    if name.host.lower() == DEFAULT_HOST:
        return False, None
    if plain_http_likely(name.host):
        return (
            True,
            f"plain http assumed for {name.host} (loopback/private); drop insecure for https",
        )
    return False, f"https assumed for {name.host}; add `insecure: true` if it speaks plain http"
