"""The provision action's report on one `ollama-provision --output json` document.

    python report.py COMMAND MANIFEST DOCUMENT

Prints a readable log of the document, GitHub workflow commands (`::error
file=F,line=L,col=C::...`: annotations at the manifest line of each problem,
and on the manifest for each failed model or drift), and writes the step
outputs to $GITHUB_OUTPUT when it is set:

    changed  true when the step changed the server (only `apply` can)
    drift    true when the server differed from the manifest: `drift` found
             drift other than `extra`, or `plan`/`apply` had changes to make or
             a model it could not converge;
             empty when the command failed before it could tell

Standard library only; it runs on the Python the action set up.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

SYMBOL = {"add": "+", "change": "~", "replace": "-/+", "delete": "-", "warm": "*"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(file: str) -> str:
    """Annotations name files relative to the repository (the workspace)."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    path = Path(file)
    if workspace and path.is_absolute():
        try:
            return path.relative_to(workspace).as_posix()
        except ValueError:
            return file
    return path.as_posix()


def annotate(message: str, *, file: str | None, title: str, **pos: int) -> str:
    """An ::error:: workflow command: an annotation on the file (and line, col) given."""
    props = [f"file={_prop(_relative(file))}"] if file else []
    props += [f"{key}={value}" for key, value in pos.items()]
    props.append(f"title={_prop(title)}")
    return f"::error {','.join(props)}::{_data(message)}"


def report(command: str, manifest: str, doc: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Log lines (workflow commands among them) and the step outputs."""
    title = f"ollama-provision {command}"
    kind = doc.get("kind")
    if kind == "error":
        lines = [
            annotate(p["message"], file=p["file"], title=title, line=p["line"], col=p["column"])
            for p in doc.get("problems", [])
        ] or [annotate(doc["error"], file=manifest, title=title)]
        return lines, {"changed": "false", "drift": ""}

    lines = [f"server {doc['server']}"]
    if kind == "drift":
        found = [d for d in doc["drift"] if d["kind"] != "extra"]
        for d in doc["drift"]:
            said = f"expected {d['expected'] or '-'}, actual {d['actual'] or '-'}"
            lines.append(f"  {d['kind']:<18} {d['model']}  {said}  {d['detail'] or ''}".rstrip())
        for d in found:
            lines.append(annotate(f"{d['kind']}: {d['model']}", file=manifest, title=title))
        for e in doc["errors"]:
            lines.append(annotate(f"{e['model']}: {e['message']}", file=manifest, title=title))
        lines.append(f"drift: {len(found)} found" if found else "drift: none, in sync")
        return lines, {"changed": "false", "drift": str(bool(found)).lower()}

    plan = doc if kind == "plan" else doc["plan"]
    changes = [a for a in plan["actions"] if a["effect"] != "warm"]
    for a in plan["actions"]:
        target = f"{a['model']} <- {a['source']}" if a["source"] else a["model"]
        lines.append(f"  {SYMBOL[a['effect']]:>3} {a['action']:<6} {target}  ({a['reason']})")
    for f in plan["failures"]:
        lines.append(annotate(f"{f['model']}: {f['message']}", file=manifest, title=title))
    # a failure of the plan is a declared model the server lacks (or that cannot be
    # checked): the server differs from the manifest as surely as with a change
    outputs = {"changed": "false", "drift": str(bool(changes or plan["failures"])).lower()}
    if kind == "plan":
        in_sync = f"in sync: {len(plan['in_sync'])} model(s) declared and present"
        lines.append(f"plan: {len(changes)} change(s) to make" if changes else in_sync)
        return lines, outputs

    for r in doc["results"]:
        said = {"done": "ok", "failed": "FAILED", "skipped": "skipped"}[r["outcome"]]
        why = f": {r['error']}" if r["error"] else ""
        lines.append(f"  {said:<7} {r['action']} {r['model']} ({r['seconds']:.1f}s){why}")
        if r["outcome"] == "failed":
            message = f"{r['action']} {r['model']} failed{why}"
            lines.append(annotate(message, file=manifest, title=title))
    if doc["outcome"] == "in-sync":
        lines.append(f"in sync: {len(plan['in_sync'])} model(s) declared and present")
    else:
        lines.append(f"apply: {doc['outcome']}")
    outputs["changed"] = str(bool(doc["changed"])).lower()
    return lines, outputs


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    command, manifest, document = argv
    text = Path(document).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except ValueError:
        print(f"::error title=ollama-provision {command}::no JSON document from the tool")
        return 1
    lines, outputs = report(command, manifest, doc)
    print("\n".join(lines))
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.writelines(f"{key}={value}\n" for key, value in outputs.items())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
