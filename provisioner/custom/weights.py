"""What weights are, on either side: local files by digest (and remembered builds),
and the weight layers of a model as the server's /api/show reports them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from provisioner.types.wire import ShowResult


@dataclass(frozen=True)
class LocalWeights:
    """A FROM or ADAPTER path as a comparison sees it.

    files: {name sent to the server: "sha256:<hex>"}. chat_template: for a single
    GGUF file, whether it has `tokenizer.chat_template`; None for anything else.
    """

    path: str
    files: Mapping[str, str]
    chat_template: bool | None = None

    @property
    def single_gguf(self) -> bool:
        return self.chat_template is not None

    @property
    def source(self) -> str:
        """One digest for the whole path: the file's own when there is one file."""
        if len(self.files) == 1:
            return next(iter(self.files.values()))
        listing = "\n".join(f"{name} {digest}" for name, digest in sorted(self.files.items()))
        return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def build_key(source: str, layer: str, quantize: str | None = None) -> str:
    """The key of a remembered build: what went in, as which layer, quantized how."""
    return f"{source}|{layer}|{(quantize or '').upper()}"


@dataclass(frozen=True)
class LocalState:
    """What observe learned about local files: weights per path, and remembered builds."""

    weights: Mapping[str, LocalWeights] = field(default_factory=dict)
    builds: Mapping[str, str] = field(default_factory=dict)

    def built(self, source: str, layer: str, quantize: str | None = None) -> str | None:
        return self.builds.get(build_key(source, layer, quantize))


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
