"""Problems and warnings found in one manifest, each placed at file:line:col.

Checks name a path in the document (("models", 2, "name")); this turns it into
the position it was written at. A path that already has a problem is "failed":
later checks skip it, so one mistake gives one message, not a cascade.
"""

from __future__ import annotations

from typing import Any

from provisioner.errors import Position, Problem
from provisioner.manifest.yaml_loader import Node, PathPart, find, pointer

Path_ = tuple[PathPart, ...]
_Entry = tuple[tuple[int, int], Problem]  # (line, column) to sort by, the problem
__all__ = ["Findings", "Path_", "one_line", "pointer"]


class Findings:
    """Collects what is wrong (problems) and what is doubtful (warnings)."""

    def __init__(self, file: str, root: Node, data: Any, quiet: set[int] | None = None) -> None:
        self.file = file
        self.root = root
        self.data = data
        self._quiet = quiet or set()  # ids of nodes already reported (e.g. unset ${VAR})
        self._problems: list[_Entry] = []
        self._warnings: list[_Entry] = []
        self._failed: set[Path_] = set()
        self._reported: set[Path_] = set()

    def at(self, path: Path_, *, key: bool = False) -> Position:
        node, key_node = find(self.root, path)
        target = key_node if key and key_node is not None else node
        return Position(self.file, target.line, target.column)

    def problem(self, path: Path_, message: str, *, key: bool = False) -> None:
        node, _ = find(self.root, path)
        self.fail(path)
        self._reported.add(path)
        if id(node) not in self._quiet:
            position = self.at(path, key=key)
            _put(self._problems, position, Problem(position, pointer(path), message))

    def problem_elsewhere(self, path: Path_, problem: Problem) -> None:
        """A problem placed elsewhere (e.g. in a Modelfile), listed where path was written."""
        self.fail(path)
        _put(self._problems, self.at(path), problem)

    def warning(self, path: Path_, message: str, *, key: bool = False) -> None:
        position = self.at(path, key=key)
        _put(self._warnings, position, Problem(position, pointer(path), message))

    def warning_elsewhere(self, path: Path_, warning: Problem) -> None:
        _put(self._warnings, self.at(path), warning)

    def add_warning(self, warning: Problem) -> None:
        """A warning already placed (an unset variable under --allow-unset)."""
        _put(self._warnings, warning.position, warning)

    def add(self, problem: Problem) -> None:
        """A problem already placed (YAML syntax, unset variables)."""
        _put(self._problems, problem.position, problem)

    def fail(self, path: Path_) -> None:
        for i in range(len(path) + 1):
            self._failed.add(path[:i])

    def failed(self, path: Path_) -> bool:
        """Whether a problem was reported at path or anywhere under it."""
        return path in self._failed

    def reported(self, path: Path_) -> bool:
        """Whether a problem was reported at exactly this path."""
        return path in self._reported

    @property
    def problems(self) -> list[Problem]:
        return _ordered(self._problems)

    @property
    def warnings(self) -> list[Problem]:
        return _ordered(self._warnings)


def one_line(problem: Problem) -> Problem:
    """The same problem with its message on one line, whatever text a value brought in."""
    if "\n" not in problem.message and "\r" not in problem.message:
        return problem
    message = problem.message.replace("\r", "\\r").replace("\n", "\\n")
    return Problem(problem.position, problem.path, message)


def _put(entries: list[_Entry], anchor: Position, problem: Problem) -> None:
    entries.append(((anchor.line, anchor.column), one_line(problem)))


def _ordered(entries: list[_Entry]) -> list[Problem]:
    seen: set[tuple[Position, str]] = set()
    result = []
    for _, problem in sorted(entries, key=lambda e: e[0]):
        if (problem.position, problem.message) not in seen:
            seen.add((problem.position, problem.message))
            result.append(problem)
    return result
