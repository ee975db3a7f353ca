"""An OCI image layout on disk: what `mirror --to oci:PATH` writes and `--from oci:PATH` reads.

    PATH/oci-layout            {"imageLayoutVersion": "1.0.0"}
    PATH/index.json            one descriptor per model: the manifest's media type, digest
                               and size, annotated org.opencontainers.image.ref.name =
                               the model's canonical name (host/namespace/model:tag)
    PATH/blobs/sha256/<hex>    every manifest, config and layer, named by its sha256

API (for the copy engine and for `apply --from oci:PATH`):

- `Layout.open(path)` reads an existing layout (UsageError when PATH is not one);
  `Layout.create(path)` makes one (or opens it when it exists).
- `layout.entries()` -> {ModelName.key: Entry(name, descriptor)}: the models it holds.
- `layout.find(name)` -> Entry | None.
- `layout.read_blob(digest, size)` -> bytes, verified (for manifests);
  `layout.open_blob(digest, size)` -> an iterator of chunks, sha256 verified while it
  streams (DigestMismatch before the last chunk when the file was altered).
- `layout.has_blob(digest, size)`, `layout.write_blob(digest, chunks, size)` (a temporary
  file renamed into place only after its sha256 matched), `layout.record(entries)`
  (index.json rewritten atomically, merging by name: the last write of a model).

Writes are ordered so that a killed run leaves nothing half-made: blobs first (each
complete or absent), the manifest blob next, index.json last.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.atomic import write_atomically, write_chunks_atomically
from provisioner.errors import DigestMismatch, InvalidName, UsageError
from provisioner.mirror.verify import check_bytes, valid_digest, verified
from provisioner.names import Key, ModelName, parse_name

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Descriptor:
    """What points at a blob: its media type, digest (sha256:<hex>) and size in bytes."""

    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Entry:
    """One model in the layout: its canonical name and its manifest's descriptor."""

    name: ModelName
    manifest: Descriptor


def canonical(name: ModelName) -> str:
    """host/namespace/model:tag, every part as written: the layout's ref.name."""
    return f"{name.host}/{name.namespace}/{name.model}:{name.tag}"


@dataclass
class Layout:
    root: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def where(self) -> str:
        return f"oci:{self.root}"

    @classmethod
    def open(cls, path: Path) -> Layout:
        marker = path / LAYOUT_FILE
        try:
            doc = json.loads(marker.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(
                f"oci:{path} is not an OCI image layout (no {LAYOUT_FILE} file): "
                "give the folder `mirror --to oci:PATH` wrote"
            ) from None
        except (OSError, ValueError) as e:
            raise UsageError(f"oci:{path}: cannot read {LAYOUT_FILE}: {e}") from None
        if not isinstance(doc, dict) or "imageLayoutVersion" not in doc:
            raise UsageError(f"oci:{path}: {LAYOUT_FILE} has no imageLayoutVersion")
        return cls(path)

    @classmethod
    def create(cls, path: Path) -> Layout:
        if (path / LAYOUT_FILE).exists():
            return cls.open(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"oci:{path} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()):
            raise UsageError(
                f"oci:{path} is a folder that is not empty and not an OCI layout: "
                "give an empty or new folder"
            )
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        write_atomically(path / LAYOUT_FILE, json.dumps({"imageLayoutVersion": "1.0.0"}) + "\n")
        return cls(path)

    # --- the index -------------------------------------------------------------------

    def _index(self) -> list[dict[str, Any]]:
        path = self.root / INDEX_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise UsageError(f"{self.where}: cannot read {INDEX_FILE}: {e}") from None
        manifests = doc.get("manifests") if isinstance(doc, dict) else None
        if not isinstance(manifests, list):
            raise UsageError(f"{self.where}: {INDEX_FILE} has no list of manifests")
        return [m for m in manifests if isinstance(m, dict)]

    def entries(self) -> dict[Key, Entry]:
        """The models the layout holds, by name key (descriptors without a name are skipped)."""
        found: dict[Key, Entry] = {}
        for raw in self._index():
            ref = (raw.get("annotations") or {}).get(REF_NAME)
            digest, size = raw.get("digest"), raw.get("size")
            if not isinstance(ref, str) or not isinstance(digest, str):
                continue
            if not valid_digest(digest) or not isinstance(size, int) or size < 0:
                raise UsageError(f"{self.where}: {INDEX_FILE} entry {ref!r} has a bad digest/size")
            try:
                name = parse_name(ref)
            except InvalidName as e:
                raise UsageError(f"{self.where}: {INDEX_FILE}: {e}") from None
            media = str(raw.get("mediaType") or "")
            found[name.key] = Entry(name, Descriptor(media, digest, size))
        return found

    def find(self, name: ModelName) -> Entry | None:
        return self.entries().get(name.key)

    def record(self, entries: Iterable[Entry]) -> None:
        """Add or replace models in index.json (by name), in one atomic write."""
        new = list(entries)
        with self._lock:
            keep = [
                raw for raw in self._index() if not any(_ref_key(raw) == e.name.key for e in new)
            ]
            added = [
                {**e.manifest.as_json(), "annotations": {REF_NAME: canonical(e.name)}} for e in new
            ]
            manifests = sorted([*keep, *added], key=lambda m: str(_ref(m)))
            doc = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": manifests}
            write_atomically(self.root / INDEX_FILE, json.dumps(doc, indent=2) + "\n")

    # --- blobs -----------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        if not valid_digest(digest):
            raise UsageError(f"{self.where}: {digest!r} is not a sha256 digest")
        return self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        """Present with the right size (its bytes are verified whenever it is read)."""
        try:
            st = self.blob_path(digest).stat()
        except FileNotFoundError:
            return False
        return size is None or st.st_size == size

    def open_blob(self, digest: str, size: int | None = None) -> Iterator[bytes]:
        """The blob's bytes in chunks, verified as they stream (see verify.verified)."""
        path = self.blob_path(digest)
        return verified(_chunks(path, self.where, digest), digest, size, self.where)

    def read_blob(self, digest: str, size: int | None = None) -> bytes:
        return b"".join(self.open_blob(digest, size))

    def write_blob(self, digest: str, chunks: Iterable[bytes], size: int | None = None) -> int:
        """Write a blob through a temporary file renamed into place only once verified.

        Returns the bytes written. On DigestMismatch (or any failure) the temporary
        file is removed and the blob stays absent."""
        # 0644 whatever the umask: a layout is made to be read by other users and tools.
        checked = verified(chunks, digest, size, self.where)
        return write_chunks_atomically(self.blob_path(digest), checked, mode=0o644)

    def write_bytes(self, digest: str, data: bytes) -> None:
        """A small blob (a manifest) already in memory, checked first."""
        check_bytes(data, digest, self.where)
        self.write_blob(digest, [data], len(data))


def _ref(raw: dict[str, Any]) -> object:
    return (raw.get("annotations") or {}).get(REF_NAME)


def _ref_key(raw: dict[str, Any]) -> Key | None:
    ref = _ref(raw)
    if not isinstance(ref, str):
        return None
    try:
        return parse_name(ref).key
    except InvalidName:
        return None


def _chunks(path: Path, where: str, digest: str) -> Iterator[bytes]:
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise DigestMismatch(digest, where, "the blob file is missing") from None
    with f:
        while chunk := f.read(CHUNK):
            yield chunk
