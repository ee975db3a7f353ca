"""Local weight files: hash them (cached), upload only what the server lacks, and
remember what a create made of them.

- The hash cache is keyed by absolute path, size and modification time (ns),
  so an unchanged multi-GB file is hashed once, ever. It also keeps, per file,
  whether a GGUF carries a chat template (Ollama then derives a template from
  it), and "builds": which model layer a create produced from which source,
  for the cases where the server does not store the uploaded file as is
  (quantize, safetensors conversion, newer servers that rewrite GGUFs).
- Hashing and uploading stream the file in fixed-size chunks through one
  reused buffer: memory stays flat whatever the file size.
- Upload: HEAD /api/blobs/<digest>, POST only on 404 (the Ollama CLI always POSTs).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from provisioner.atomic import write_atomically
from provisioner.custom.spec import CreateSpec
from provisioner.errors import LocalFileError, ServerError, WeightsNotFound
from provisioner.server.client import Client, Progress, ProgressCallback, ShowResult

CHUNK = 4 << 20
CACHE_VERSION = 2


def default_cache_path() -> Path:
    root = os.environ.get("OLLAMA_PROVISION_CACHE") or str(Path.home() / ".cache/ollama-provision")
    return Path(root) / "hashes.json"


# ---- what the local files are --------------------------------------------------------


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


class HashCache:
    """sha256 digests (and GGUF facts) of local files, and remembered builds, across runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        self._builds: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and data.get("version") == CACHE_VERSION:
            self._files = dict(data.get("files") or {})
            self._builds = dict(data.get("builds") or {})
        elif isinstance(data, dict):  # version 1: {key: digest}
            self._files = {k: {"sha256": v} for k, v in data.items() if isinstance(v, str)}

    @staticmethod
    def _key(path: Path) -> str:
        real = path.resolve()
        st = real.stat()
        return f"{real}|{st.st_size}|{st.st_mtime_ns}"

    def _entry(self, path: Path, on_progress: ProgressCallback | None) -> dict[str, Any]:
        key = self._key(path)
        with self._lock:
            known = self._files.get(key)
        if known is not None and "sha256" in known:
            self.hits += 1
            return known
        self.misses += 1
        entry = {
            "sha256": sha256_file(path, on_progress),
            "chat_template": gguf_chat_template(path),
        }
        with self._lock:
            self._files[key] = entry
            self._save()
        return entry

    def digest(self, path: Path, on_progress: ProgressCallback | None = None) -> str:
        return str(self._entry(path, on_progress)["sha256"])

    def inspect(self, path: Path, on_progress: ProgressCallback | None = None) -> LocalWeights:
        """Hash (or recall) every file the path stands for."""
        files = weight_files(path)
        digests = {name: self._entry(file, on_progress) for name, file in files.items()}
        chat_template = None
        if path.is_file():
            found = next(iter(digests.values())).get("chat_template")
            chat_template = found if isinstance(found, bool) else None
        mapping = {name: str(entry["sha256"]) for name, entry in digests.items()}
        return LocalWeights(str(path), mapping, chat_template)

    @property
    def builds(self) -> Mapping[str, str]:
        with self._lock:
            return dict(self._builds)

    def remember_build(self, source: str, layer: str, quantize: str | None, result: str) -> None:
        key = build_key(source, layer, quantize)
        with self._lock:
            if self._builds.get(key) == result:
                return
            self._builds[key] = result
            self._save()

    def _save(self) -> None:
        """Write atomically (callers hold the lock): a crash never leaves half a file."""
        body = {"version": CACHE_VERSION, "files": self._files, "builds": self._builds}
        write_atomically(self.path, json.dumps(body))


def sha256_file(path: Path, on_progress: ProgressCallback | None = None) -> str:
    """sha256 of a file, read through one reused buffer (constant memory)."""
    h = hashlib.sha256()
    size = path.stat().st_size
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done = 0
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buffer):
            h.update(view[:n])
            done += n
            if on_progress is not None:
                on_progress(Progress(path.name, "hashing", None, size, done))
    return "sha256:" + h.hexdigest()


def weight_files(path: Path) -> dict[str, Path]:
    """The files a FROM/ADAPTER path stands for, keyed by the name the server gets.

    A file stands for itself (named by its base name, as the Ollama CLI sends
    it). A folder is read the way the CLI's `filesForModel` reads one: the
    first kind of weights found (safetensors, pytorch_model*.bin,
    consolidated*.pth, *.gguf, *.bin), then its JSON files (also one folder
    down) and tokenizer.model when there is no tokenizer.json. Names are
    relative to the folder.
    """
    if not path.is_dir():
        return {path.name: path}
    weights: list[Path] = []
    for pattern in ("*.safetensors", "pytorch_model*.bin", "consolidated*.pth", "*.gguf", "*.bin"):
        weights = sorted(p for p in path.glob(pattern) if p.is_file())
        if weights:
            break
    if not weights:
        raise WeightsNotFound(
            f"{path}: no weights found (looked for *.safetensors, *.gguf, *.bin, "
            "pytorch_model*.bin, consolidated*.pth)"
        )
    found = weights + sorted(path.glob("*.json")) + sorted(path.glob("*/*.json"))
    if not any(p.name == "tokenizer.json" for p in found):
        found += sorted(path.glob("tokenizer.model")) or sorted(path.glob("*/tokenizer.model"))
    return {p.relative_to(path).as_posix(): p for p in found if p.is_file()}


# ---- GGUF metadata: only what decides Ollama's create ----------------------------------

_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def gguf_chat_template(path: Path) -> bool | None:
    """Whether a GGUF file has `tokenizer.chat_template`; None when it is not GGUF v2/v3.

    Reads the key/value section only, skipping values (a vocabulary of 150k
    strings is skipped string by string, without holding it).
    """
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                return None
            (version,) = struct.unpack("<I", f.read(4))
            if version not in (2, 3):
                return None
            _, kv_count = struct.unpack("<QQ", f.read(16))
            for _ in range(kv_count):
                key = _read_string(f)
                if key == b"tokenizer.chat_template":
                    return True
                (kind,) = struct.unpack("<I", f.read(4))
                _skip_value(f, kind)
    except (OSError, struct.error, ValueError):
        return None
    return False


def _read_string(f: BinaryIO) -> bytes:
    (n,) = struct.unpack("<Q", f.read(8))
    if n > 1 << 20:
        raise ValueError("implausible key length")
    return f.read(n)


def _skip_value(f: BinaryIO, kind: int) -> None:
    if kind in _GGUF_SCALARS:
        f.seek(_GGUF_SCALARS[kind], os.SEEK_CUR)
    elif kind == _GGUF_STRING:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(n, os.SEEK_CUR)
    elif kind == _GGUF_ARRAY:
        item, count = struct.unpack("<IQ", f.read(12))
        if item in _GGUF_SCALARS:
            f.seek(_GGUF_SCALARS[item] * count, os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip_value(f, item)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")


# ---- the server's side ------------------------------------------------------------------

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


# ---- uploading, and remembering what a create made ------------------------------------


def ensure_blobs(
    client: Client,
    path: Path,
    cache: HashCache,
    on_progress: ProgressCallback | None = None,
    uploaded: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Hash and, where the server lacks them, upload the files; return {name: digest}."""
    mapping: dict[str, str] = {}
    for name, file in weight_files(path).items():
        try:
            digest = cache.digest(file, on_progress)
        except OSError as e:
            raise LocalFileError(f"cannot read {e.filename or file}: {e.strerror}") from e
        if not client.blob_exists(digest):
            client.upload_blob(digest, file, on_progress=on_progress)
            if uploaded is not None:
                uploaded(digest)
        mapping[name] = digest
    return mapping


def remember_build(
    client: Client,
    cache: HashCache,
    spec: CreateSpec,
    name: str,
    files: Mapping[str, str],
    adapters: Mapping[str, str],
) -> None:
    """After a create from local files or with quantize: note which layers it produced,
    where they are not the uploaded bytes, so the next plan can compare them."""
    if not (spec.from_is_path or spec.adapters or spec.quantize):
        return
    try:
        made = show_weights(client.show(name))
        source: str | None = None
        if spec.from_is_path:
            source = LocalWeights(spec.from_, files).source
        elif spec.quantize:
            source = show_weights(client.show(spec.from_)).model
    except ServerError:
        return  # the model is made; without a record the next plan compares less
    if source and made.model and made.model != source:
        cache.remember_build(source, "model", spec.quantize, made.model)
    if adapters and made.adapters:
        adapter_source = LocalWeights("", adapters).source
        if made.adapters[-1] != adapter_source:
            cache.remember_build(adapter_source, "adapter", None, made.adapters[-1])
