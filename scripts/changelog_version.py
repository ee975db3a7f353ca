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


def _commits_since(heading: str) -> int:
    """Commits after the one that last wrote `heading` into the CHANGELOG."""
    try:
        found = subprocess.run(
            [
                "git",
                "log",
                "-1",
                "--format=%H",
                "-G",
                f"^{re.escape(heading)}$",
                "--",
                CHANGELOG.name,
            ],
            cwd=CHANGELOG.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        if not found:
            return 0
        count = subprocess.run(
            ["git", "rev-list", "--count", f"{found}..HEAD"],
            cwd=CHANGELOG.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 0
    return int(count) if count.isdigit() else 0


def changelog_version(text: str, commits_since: int) -> str:
    """The version a CHANGELOG's text names; commits_since counts past its release."""
    names = [m.group("name") for m in _HEADING.finditer(text)]
    released = next((n for n in names if re.fullmatch(r"\d+\.\d+\.\d+", n)), None)
    if released is None:
        raise ValueError("CHANGELOG.md names no released version (## X.Y.Z)")
    if names[0].lower() != "unreleased":
        return released
    major, minor, patch = released.split(".")
    return f"{major}.{minor}.{int(patch) + 1}.dev{commits_since}"


def _version() -> str:
    text = CHANGELOG.read_text(encoding="utf-8")
    released = next(
        (
            m.group(0)
            for m in _HEADING.finditer(text)
            if re.fullmatch(r"\d+\.\d+\.\d+", m.group("name"))
        ),
        "",
    )
    return changelog_version(text, _commits_since(released) if released else 0)


__version__ = _version()

if __name__ == "__main__":
    print(__version__)
