"""`validate`'s work: load each manifest and keep every problem and warning, typed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.errors import ManifestError, Problem
from provisioner.manifest.load import load_manifest


@dataclass(frozen=True)
class FileCheck:
    file: str
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


def check_files(files: Sequence[str], *, allow_unset: bool = False) -> tuple[FileCheck, ...]:
    return tuple(_check(file, allow_unset) for file in files)


def _check(file: str, allow_unset: bool) -> FileCheck:
    try:
        manifest = load_manifest(file, allow_unset=allow_unset)
    except ManifestError as e:
        return FileCheck(file, problems=tuple(e.problems))
    return FileCheck(file, warnings=tuple(manifest.warnings))
