"""Writing manifest files safely: checked first, then moved into place in one step.

The text goes to a temporary file beside the target, is loaded with
load_manifest (so what we write always validates), then renamed over the
target: a reader sees the old file or the new one, never half of one. Without
`force` an existing file is never replaced, even one that appears meanwhile
(the final step is a hard link, which refuses to overwrite).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from provisioner.atomic import write_atomically
from provisioner.errors import (
    InvalidOutput,
    ManifestError,
    ProvisionError,
    TargetExists,
    WouldOverwrite,
)
from provisioner.manifest.load import load_manifest

# Where editors (yaml-language-server) fetch the manifest schema; the same file
# as schemas/manifest.schema.json in this repository and in the wheel.
SCHEMA_URL = (
    "https://raw.githubusercontent.com/ollama-provision/ollama-provision/main/"
    "schemas/manifest.schema.json"
)


def check_manifest_text(text: str, directory: Path | None = None) -> None:
    """Raise InvalidOutput unless `text` loads as a manifest (relative paths from directory)."""
    with tempfile.TemporaryDirectory(dir=directory) as folder:
        path = Path(folder) / "manifest.yaml"
        path.write_text(text, encoding="utf-8")
        _check(path)


def _check(path: Path) -> None:
    try:
        load_manifest(path, env={})
    except ManifestError as e:
        problems = "; ".join(str(p) for p in e.problems[:3])
        raise InvalidOutput(
            f"the generated manifest does not validate ({problems}); please report this"
        ) from e


def write_manifest(path: Path, text: str, *, force: bool) -> None:
    """Validate `text` as a manifest and write it to `path` atomically.

    Raises WouldOverwrite when path exists and force is false, InvalidOutput when
    the text does not validate; in both cases nothing is written.
    """
    if path.exists() and not force:
        raise WouldOverwrite(f"{path} exists; use --force to replace it")
    if path.is_dir():
        raise WouldOverwrite(f"{path} is a folder; name a file")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ProvisionError(f"folder {directory} does not exist; create it first")
    try:
        write_atomically(path, text, overwrite=force, check=_check)
    except TargetExists:
        raise WouldOverwrite(f"{path} exists; use --force to replace it") from None
