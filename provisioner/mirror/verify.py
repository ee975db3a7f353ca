"""Verify a blob while it streams: sha256 and size, checked before the last bytes go on.

The final chunk is held back until the whole stream hashes to its digest, so
a consumer that writes as it reads (an upload, a temporary file) never sees
the complete blob unless it is the right one: a corrupt source ends the stream
with DigestMismatch before the destination could finalize anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from provisioner.errors import DigestMismatch

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def valid_digest(digest: str) -> bool:
    """Whether a digest is spelled sha256:<64 lower-case hex> (the only kind Ollama uses)."""
    return bool(_DIGEST.match(digest))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_bytes(data: bytes, digest: str, where: str) -> bytes:
    """Return data when it hashes to digest; raise DigestMismatch naming it otherwise."""
    actual = sha256_digest(data)
    if actual != digest:
        raise DigestMismatch(digest, where, f"its bytes hash to {actual}")
    return data


def verified(chunks: Iterable[bytes], digest: str, size: int | None, where: str) -> Iterator[bytes]:
    """Yield chunks unchanged, holding the last back until sha256 (and size) match."""
    hasher = hashlib.sha256()
    seen = 0
    pending: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        hasher.update(chunk)
        seen += len(chunk)
        if size is not None and seen > size:
            raise DigestMismatch(digest, where, f"more than its {size} bytes")
        if pending is not None:
            yield pending
        pending = chunk
    if size is not None and seen != size:
        raise DigestMismatch(digest, where, f"{seen} bytes where {size} were declared")
    actual = "sha256:" + hasher.hexdigest()
    if actual != digest:
        raise DigestMismatch(digest, where, f"its bytes hash to {actual}")
    if pending is not None:
        yield pending
