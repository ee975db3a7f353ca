"""The manifest: YAML file in, validated and typed `Manifest` out.

load_manifest reads the file (size-limited), parses it keeping positions
(yaml_loader), expands ${VAR} inside values (interpolate), checks it against
the JSON Schema (manifest_schema), then checks what a schema cannot express:
names as Ollama reads them, duplicates after normalization (aliases too),
durations, files, bases of custom models and cycles between them. Every
problem is collected; ManifestError carries them all, each at file:line:col.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import secrets
from provisioner.errors import ManifestError, Position, Problem
from provisioner.manifest.across import check_bases, check_duplicates, check_mirror_names
from provisioner.manifest.findings import Findings, Path_, one_line
from provisioner.manifest.interpolate import expand_tree
from provisioner.manifest.models import Models
from provisioner.manifest.schema import check, subject
from provisioner.manifest.sections import (
    defaults_of,
    mirror_entries,
    prune_settings,
    section,
    server_settings,
)
from provisioner.manifest.yaml_loader import compose, position_in, to_plain
from provisioner.types.manifest import Manifest

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
STDIN = "<stdin>"  # the file name a manifest read from standard input goes by


def load_manifest(
    path: str | Path, *, env: Mapping[str, str] | None = None, allow_unset: bool = False
) -> Manifest:
    """Load and validate a manifest; raise ManifestError with every problem found.

    env: the variables ${VAR} expands from (default: os.environ). allow_unset: an
    unset ${VAR} without a default is a warning, not a problem (editors and
    pre-commit see a manifest without its secrets); everything else is checked.
    `-` reads standard input; its relative paths then resolve from the current
    folder, positions name `<stdin>`, and no lock is read beside it.
    """
    if str(path) == "-":
        p, file = Path.cwd() / STDIN, STDIN
        text = _decode(sys.stdin.buffer.read(MAX_MANIFEST_BYTES + 1), file)
    else:
        p = Path(path)
        file = str(p)
        text = _read(p, file)
    return load_manifest_text(text, p, file=file, env=env, allow_unset=allow_unset)


def load_manifest_text(
    text: str,
    path: Path,
    *,
    file: str | None = None,
    env: Mapping[str, str] | None = None,
    allow_unset: bool = False,
) -> Manifest:
    """Validate manifest text as if it were read from `path`: its relative files
    resolve from path's folder and its lock is looked for beside path. Positions
    name `file` (default: the path); env and allow_unset as in load_manifest."""
    file = str(path) if file is None else file
    p = path
    root, yaml_problems, flagged = compose(text, file)
    if root is None:
        if not yaml_problems:
            message = "the manifest is empty; start with 'version: 1' and a 'models:' list"
            yaml_problems = [Problem(Position(file, 1, 1), "", message)]
        raise ManifestError([one_line(problem) for problem in yaml_problems])
    env_problems, unset = expand_tree(root, text, file, os.environ if env is None else env)
    data = to_plain(root)
    findings = Findings(file, root, data, quiet=unset | flagged)
    for problem in yaml_problems:
        findings.add(problem)
    for problem in env_problems:
        if allow_unset and problem.message.startswith("environment variable "):
            note = problem.message.split(";")[0] + " (allowed by --allow-unset)"
            findings.add_warning(dataclasses.replace(problem, message=note))
        else:
            findings.add(problem)
    _check_finite(data, (), findings)
    for issue in check(data):
        if not findings.reported(issue.path):
            findings.problem(issue.path, issue.message, key=issue.at_key)
    if not isinstance(data, dict):
        raise ManifestError(findings.problems)
    built = build_manifest(findings, data, text, p)
    secrets.register(built.secrets)  # before any problem is printed: none may show one
    if findings.problems:
        raise ManifestError(findings.problems)
    return built.manifest


def _fail(file: str, message: str, line: int = 1, column: int = 1) -> ManifestError:
    return ManifestError([Problem(Position(file, line, column), "", message)])


def _read(p: Path, file: str) -> str:
    def fail(message: str) -> ManifestError:
        return _fail(file, message)

    try:
        with p.open("rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except IsADirectoryError:
        raise fail("this is a folder; name the manifest file inside it") from None
    except OSError as e:
        raise fail(f"cannot read the manifest: {e.strerror or e}") from None
    return _decode(raw, file)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _fail(
            file, "the manifest is larger than 4 MiB; split it, or check it is the right file"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        good = raw[: e.start].decode("utf-8-sig", errors="replace")
        line, column = position_in(good, len(good))
        raise _fail(
            file,
            f"the manifest is not valid UTF-8 (byte 0x{raw[e.start]:02x}); save it as UTF-8",
            line,
            column,
        ) from None


def _check_finite(value: Any, path: Path_, findings: Findings) -> None:
    """`.inf` and `.nan` are numbers to YAML, but meaningless in a manifest."""
    if isinstance(value, float) and not math.isfinite(value):
        findings.problem(path, f"{subject(path, findings.data)} must be a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, (*path, key), findings)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, (*path, i), findings)


@dataclass(frozen=True)
class Built:
    """A Manifest, used only when no problem was found on the way, and the values that
    must never be printed (the header values), which the caller registers."""

    manifest: Manifest
    secrets: tuple[str, ...]


def build_manifest(findings: Findings, data: dict[str, Any], text: str, path: Path) -> Built:
    """Turn schema-valid data into a Manifest, reporting what the schema cannot see."""
    server = server_settings(findings, section(data, "server"))
    defaults = defaults_of(findings, section(data, "defaults"))
    models = Models(findings, text, path.resolve().parent)
    entries = data.get("models")
    if isinstance(entries, list):
        for i, entry in enumerate(entries):
            if isinstance(entry, dict):
                models.add(i, entry, defaults)
    check_duplicates(findings, models)
    check_bases(findings, models)
    mirrors = mirror_entries(findings, section(data, "mirrors"))
    check_mirror_names(findings, models, mirrors)
    manifest = Manifest(
        path=path.resolve(),
        version=1,
        server=server,
        models=tuple(models.specs[i] for i in sorted(models.specs)),
        prune=prune_settings(findings, section(data, "prune")),
        warnings=tuple(findings.warnings),
        mirrors=mirrors,
    )
    return Built(manifest, tuple(str(v) for v in server.headers.values()))
