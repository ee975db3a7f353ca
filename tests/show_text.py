"""Test helpers that write text the way Ollama's /api/show does."""

from __future__ import annotations

from typing import Any


def show_parameters(**values: Any) -> str:
    """/api/show's `parameters`: `%-30s %#v` per value, one line per stop entry."""
    lines = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            shown = f'"{item}"' if isinstance(item, str) else str(item).lower()
            lines.append(f"{key:<30} {shown}")
    return "\n".join(lines)
