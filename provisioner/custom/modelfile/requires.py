"""REQUIRES <version>: a semantic version as golang.org/x/mod/semver reads it (Ollama 0.14+)."""

from __future__ import annotations

import re

from provisioner.custom.modelfile.grammar import Command, Origin

_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
# golang.org/x/mod/semver: "v1" and "v1.2" are valid; pre-release and build need all three numbers.
_SEMVER = re.compile(
    rf"v?{_NUMBER}(?:\.{_NUMBER}(?:\.{_NUMBER}"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?)?)?"
)


def requires(command: Command, origin: Origin) -> str:
    if not _SEMVER.fullmatch(command.args):
        raise origin.error(
            command.value_at,
            f"invalid REQUIRES version '{command.args}': use a semantic version such as 0.14.0",
        )
    return command.args.removeprefix("v")
