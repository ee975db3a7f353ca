"""What weights are, on either side: local files by digest (and remembered builds),
and the weight layers of a model as the server's /api/show reports them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioner.types.state import LocalState as LocalState
from provisioner.types.state import LocalWeights as LocalWeights
from provisioner.types.state import build_key as build_key
from provisioner.types.wire import ShowResult

# LocalWeights, LocalState and build_key are types of the plan's input: types/state.py.


_DIGEST = re.compile(r"sha256[-:]([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class ServerWeights:
    """The weight layers of a model, read from /api/show's generated Modelfile."""

    model: str | None  # "sha256:<hex>" of the model layer; None when not a blob
    adapters: tuple[str, ...] = ()


def show_weights(show: ShowResult) -> ServerWeights:
    """Ollama writes FROM <model blob>, ADAPTER <blob>... first (then projectors as FROM)."""
    model: str | None = None
    seen_from = False
    adapters: list[str] = []
    for line in show.modelfile.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        command, _, value = text.partition(" ")
        found = _DIGEST.search(value)
        digest = "sha256:" + found.group(1).lower() if found else None
        if command.upper() == "FROM" and not seen_from:
            seen_from, model = True, digest
        elif command.upper() == "ADAPTER" and digest:
            adapters.append(digest)
        elif command.upper() not in ("FROM", "ADAPTER", "DRAFT"):
            break
    return ServerWeights(model, tuple(adapters))
