"""Sizes and times for people: one unit style everywhere."""

from __future__ import annotations


def human_size(n: float) -> str:
    """Bytes in decimal units, as Ollama's CLI shows them (472.5 KB, 1.2 GB)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
