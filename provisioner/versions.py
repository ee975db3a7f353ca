"""Ollama version strings ("0.11.4", "v0.34.4-rc1", "0.0.0" for dev builds) as tuples."""

from __future__ import annotations


def parse_version(text: str) -> tuple[int, ...] | None:
    """(major, minor, patch, ...) or None for unknown and dev builds (0.0.0)."""
    core = text.strip().lstrip("v").split("-")[0].split("+")[0]
    try:
        parts = tuple(int(p) for p in core.split("."))
    except ValueError:
        return None
    return parts if any(parts) else None


def older_than(version: str, wanted: str | tuple[int, ...]) -> bool:
    """Whether a known `version` is below `wanted`; unknown versions are never older."""
    have = parse_version(version)
    want = parse_version(wanted) if isinstance(wanted, str) else wanted
    return have is not None and want is not None and have < want
