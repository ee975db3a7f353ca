"""`validate FILE...`: load each manifest, print problems, exit 0 or 2."""

from __future__ import annotations

import json

import click

from .. import exit_codes
from ..errors import ManifestError
from ..manifest import load_manifest


def run(files: list[str], *, output: str) -> int:
    results = []
    for file in files:
        try:
            load_manifest(file)
            results.append({"file": file, "valid": True, "errors": []})
        except ManifestError as e:
            errors = [
                {
                    "file": p.position.file,
                    "path": p.path,
                    "line": p.position.line,
                    "column": p.position.column,
                    "message": p.message,
                }
                for p in e.problems
            ]
            results.append({"file": file, "valid": False, "errors": errors})
    ok = all(r["valid"] for r in results)
    if output == "json":
        click.echo(json.dumps({"valid": ok, "files": results}, indent=2))
    else:
        for r in results:
            if r["valid"]:
                click.echo(f"{r['file']}: valid")
            for err in r["errors"]:  # type: ignore[attr-defined]
                click.echo(f"{err['file']}:{err['line']}:{err['column']}: {err['message']}", err=True)
    return exit_codes.OK if ok else exit_codes.USAGE
