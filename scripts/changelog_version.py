"""The package version, from CHANGELOG.md (hatchling's `code` version source runs this).

The top released entry (`## X.Y.Z`) is the version. An `## Unreleased` section above
it means the tree is past that release: `X.Y.(Z+1).devN`, N the commits since the
release's heading was written (0 without git metadata, e.g. from a source archive).
The CHANGELOG, not a git tag, decides: a clone without tags builds the same version
the CHANGELOG names, and `--version` says what the user can read there.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
_HEADING = re.compile(r"^## \[?(?P<name>[^\]\s]+)\]?", re.MULTILINE)


def _git(*args: str) -> str:
    """git's answer in the CHANGELOG's folder; OSError/SubprocessError when it fails."""
    return subprocess.run(
        ["git", *args],
        cwd=CHANGELOG.parent,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()


def _commits_since(heading: str) -> int:
    """Commits after the one that last wrote `heading` into the CHANGELOG."""
    try:
        found = _git(
            "log", "-1", "--format=%H", "-G", f"^{re.escape(heading)}$", "--", CHANGELOG.name
        )
        if not found:
            return 0
        count = _git("rev-list", "--count", f"{found}..HEAD")
    except (OSError, subprocess.SubprocessError):
        return 0
    return int(count) if count.isdigit() else 0


def _released(text: str) -> re.Match[str] | None:
    """The heading of the top released entry (`## X.Y.Z`)."""
    return next(
        (m for m in _HEADING.finditer(text) if re.fullmatch(r"\d+\.\d+\.\d+", m.group("name"))),
        None,
    )


def changelog_version(text: str, commits_since: int) -> str:
    """The version a CHANGELOG's text names; commits_since counts past its release."""
    released = _released(text)
    if released is None:
        raise ValueError("CHANGELOG.md names no released version (## X.Y.Z)")
    first = _HEADING.search(text)
    if first is None or first.group("name").lower() != "unreleased":
        return released.group("name")
    major, minor, patch = released.group("name").split(".")
    return f"{major}.{minor}.{int(patch) + 1}.dev{commits_since}"


def _version() -> str:
    text = CHANGELOG.read_text(encoding="utf-8")
    released = _released(text)
    return changelog_version(text, _commits_since(released.group(0)) if released else 0)


__version__ = _version()

if __name__ == "__main__":
    print(__version__)
