"""Talking to servers: the Ollama client, registries, host resolution."""

import sys

# httpx imports its own command-line tool (and with it rich and pygments, about
# 0.1 s) when those are installed; we never call it. A None entry makes that
# import fail fast, and httpx falls back to a stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
