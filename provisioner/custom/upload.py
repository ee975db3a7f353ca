"""Uploading local weights to a server, and remembering what a create made of them.

Upload: HEAD /api/blobs/<digest>, POST only on 404 (the Ollama CLI always POSTs),
streamed from the file (constant memory). The only module of custom/ that talks
to a server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from provisioner.custom.files import weight_files
from provisioner.custom.hash_cache import HashCache
from provisioner.custom.weights import LocalWeights, show_weights
from provisioner.errors import LocalFileError, ServerError
from provisioner.server.client import Client
from provisioner.types.manifest import CreateSpec
from provisioner.types.wire import ProgressCallback


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
