"""`validate FILE...`: load each manifest, print every problem, exit 0 or 2.

Text: `file:line:col: message` per problem on stderr, then a summary line per
file; warnings read `file:line:col: warning: message` and never fail.
JSON (--output json): {"valid", "files": [{"file", "valid", "errors",
"warnings"}]}, each error with file, path (JSON pointer), line, column, message.
"""

from __future__ import annotations

import json
from typing import Any

import click

from provisioner import exit_codes
from provisioner.errors import ManifestError, Problem
from provisioner.manifest.load import load_manifest


def run(files: list[str], *, output: str) -> int:
    results = [_check(file) for file in files]
    ok = all(r["valid"] for r in results)
    if output == "json":
        click.echo(json.dumps({"valid": ok, "files": results}, indent=2))
    else:
        for r in results:
            _print_text(r)
    return exit_codes.OK if ok else exit_codes.USAGE


def _check(file: str) -> dict[str, Any]:
    try:
        manifest = load_manifest(file)
    except ManifestError as e:
        return {"file": file, "valid": False, "errors": _json(e.problems), "warnings": []}
    return {"file": file, "valid": True, "errors": [], "warnings": _json(manifest.warnings)}


def _json(problems: list[Problem] | tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [
        {
            "file": p.position.file,
            "path": p.path,
            "line": p.position.line,
            "column": p.position.column,
            "message": p.message,
        }
        for p in problems
    ]


def _print_text(result: dict[str, Any]) -> None:
    for w in result["warnings"]:
        click.echo(f"{w['file']}:{w['line']}:{w['column']}: warning: {w['message']}", err=True)
    for e in result["errors"]:
        click.echo(f"{e['file']}:{e['line']}:{e['column']}: {e['message']}", err=True)
    if result["valid"]:
        click.echo(f"{result['file']}: valid")
    else:
        count = len(result["errors"])
        click.echo(f"{result['file']}: invalid ({count} problem{'s' * (count != 1)})", err=True)
