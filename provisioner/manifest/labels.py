"""Labels on servers and selectors on models: which models a server of a fleet gets.

A label value is text; YAML's `true` and `3` are read as the text "true" and "3",
so `gpu: true` in an inventory and `gpu: "true"` in a selector agree.
"""

from __future__ import annotations

from typing import Any

from provisioner.types.manifest import Labels, Selector


def label_text(value: Any) -> str:
    """The text a YAML scalar stands for as a label value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def labels_of(raw: Any) -> dict[str, str]:
    """A validated `labels:` mapping as text values."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): label_text(v) for k, v in raw.items()}


def selector_of(raw: Any) -> Selector:
    """A validated `selector:` mapping as a Selector (empty: every server)."""
    if not isinstance(raw, dict):
        return ()
    pairs = []
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        pairs.append((str(key), tuple(sorted({label_text(v) for v in values}))))
    return tuple(sorted(pairs))


def matches(selector: Selector, labels: Labels) -> bool:
    """Every label the selector names is set on the server to one of its values."""
    return all(labels.get(key) in values for key, values in selector)


def describe(selector: Selector) -> str:
    """`gpu=true, zone in (eu, us)`: how plans and notes name a selector."""
    parts = []
    for key, values in selector:
        parts.append(
            f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({', '.join(values)})"
        )
    return ", ".join(parts)
