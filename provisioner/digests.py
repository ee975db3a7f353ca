"""The one spelling of a digest inside the tool: "sha256:<hex>", lower case.

Digests arrive as Ollama's bare hex (/api/tags), "sha256:<hex>" (registries, locks,
manifests) or "sha256-<hex>" (Ollama's blob file names, which a manifest may quote);
every place they are read spells them this way once, so comparisons never strip.
"""

from __future__ import annotations


def full_digest(digest: str) -> str:
    hex_part = digest.lower().removeprefix("sha256:").removeprefix("sha256-")
    return f"sha256:{hex_part}" if hex_part else ""
