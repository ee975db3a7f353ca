"""A custom model's CreateSpec, from any of its three manifest forms.

- `modelfile:` Modelfile text inline; errors point into the manifest, at the
  place in the inline text;
- `modelfile_path:` a Modelfile on disk; errors point into that file, and its
  relative paths resolve from its own folder;
A problem found later with a Modelfile's base (declared absent, a cycle) is
reported at its FROM value (`from_position`), not at the manifest key.
- `from:` plus system, template, parameters, messages, adapters, license:
  the structured form, typed here exactly as Ollama types Modelfile values.
`quantize` applies to all three. Relative paths resolve from the manifest.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from provisioner.custom.modelfile.parameters import is_deprecated, typed
from provisioner.custom.modelfile.paths import looks_like_path, special_file
from provisioner.errors import ModelfileError, Position, Problem
from provisioner.manifest.findings import Findings, Path_, pointer
from provisioner.manifest.yaml_loader import Scalar, find
from provisioner.names import invalid_reason
from provisioner.types.manifest import CreateSpec

MAX_MODELFILE_BYTES = 4 * 1024 * 1024

_WARNING = re.compile(r"(?P<file>.*):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)", re.DOTALL)

# spec, warnings, error, and the line and column of the FROM value
Parsed = tuple[CreateSpec | None, list[str], ModelfileError | None, tuple[int, int]]


class CustomModels:
    """Builds the CreateSpecs of one manifest; a Modelfile used twice is parsed once."""

    def __init__(self, findings: Findings, text: str, base_dir: Path) -> None:
        self.findings = findings
        self.text = text  # the manifest's source, for positions inside inline Modelfiles
        self.base_dir = base_dir
        self.parsed: dict[tuple[str, str, Path], Parsed] = {}
        self.from_positions: dict[Path_, Position] = {}  # entry path -> its FROM value

    def from_position(self, entry_path: Path_) -> Position | None:
        """Where a Modelfile form wrote its FROM value, for problems with the base."""
        return self.from_positions.get(entry_path)

    def build(self, entry: dict[str, Any], path: Path_) -> CreateSpec | None:
        """The CreateSpec of a custom model entry, or None after reporting why not."""
        if "modelfile" in entry:
            spec = self.inline(entry["modelfile"], (*path, "modelfile"))
        elif "modelfile_path" in entry:
            spec = self.on_disk(entry["modelfile_path"], (*path, "modelfile_path"))
        else:
            spec = _structured(entry, path, self.findings, self.base_dir)
        if spec is not None and "quantize" in entry:
            spec = dataclasses.replace(spec, quantize=entry["quantize"].upper())
        return spec

    def parse(self, text: str, source: str, base_dir: Path) -> Parsed:
        key = (text, source, base_dir)
        if key not in self.parsed:
            self.parsed[key] = _parse(text, source, base_dir)
        return self.parsed[key]

    def inline(self, value: str, path: Path_) -> CreateSpec | None:
        findings = self.findings
        node, _ = find(findings.root, path)
        assert isinstance(node, Scalar)
        spec, warnings, error, at = self.parse(value, findings.file, self.base_dir)
        if spec is not None:
            where, note = _inline_position(node, *at, self.text, findings.file)
            if not note:
                self.from_positions[path[:-1]] = where
        for one in error.every if error is not None else ():
            position, note = _inline_position(node, one.line, one.column, self.text, findings.file)
            hint = ""
            if value.strip() and not any(c.isspace() for c in value.strip()):
                hint = "; to read a Modelfile from disk, use 'modelfile_path'"
            message = one.message + note + hint
            findings.problem_elsewhere(path, Problem(position, pointer(path), message))
        for warning in warnings:
            m = _WARNING.fullmatch(warning)
            if m:
                line, column = int(m["line"]), int(m["column"])
                position, note = _inline_position(node, line, column, self.text, findings.file)
                message = m["message"] + note
                findings.warning_elsewhere(path, Problem(position, pointer(path), message))
        return spec

    def on_disk(self, value: str, path: Path_) -> CreateSpec | None:
        findings = self.findings
        file = local_path(value, self.base_dir)
        text = _read_modelfile(value, file, path, findings)
        if text is None:
            return None
        shown = value
        if not os.path.isabs(os.path.expanduser(value)):
            shown = os.path.normpath(os.path.join(os.path.dirname(findings.file), value))
        spec, warnings, error, at = self.parse(text, shown, file.parent)
        if spec is not None:
            self.from_positions[path[:-1]] = Position(shown, *at)
        for one in error.every if error is not None else ():
            position = Position(one.file, one.line, one.column)
            findings.problem_elsewhere(path, Problem(position, pointer(path), one.message))
        for warning in warnings:
            m = _WARNING.fullmatch(warning)
            if m:
                position = Position(m["file"], int(m["line"]), int(m["column"]))
                findings.warning_elsewhere(path, Problem(position, pointer(path), m["message"]))
        return spec


def local_path(value: str, base_dir: Path) -> Path:
    """A path as written in the manifest: ~ expanded, relative to base_dir, absolute."""
    return Path(os.path.abspath(base_dir / os.path.expanduser(value)))


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # name too long, NUL byte, permission...
        return False


def _parse(text: str, source: str, base_dir: Path) -> Parsed:
    from provisioner.custom.modelfile.parse import (
        parse_modelfile_located,  # late: only custom models need it
    )

    try:
        spec, warnings, at = parse_modelfile_located(text, source=source, base_dir=base_dir)
    except ModelfileError as e:
        return None, [], e, (1, 1)
    except Exception as e:  # a bug in the parser must still be one line, not a traceback
        message = f"cannot read this Modelfile ({e!r}); please report this"
        return None, [], ModelfileError(message, file=source, line=1, column=1), (1, 1)
    return spec, warnings, None, at


def _read_modelfile(value: str, file: Path, path: Path_, findings: Findings) -> str | None:
    """The text of a Modelfile on disk, decoded as Ollama does; None after a problem."""
    if not exists(file):
        findings.problem(
            path,
            f"Modelfile '{value}' not found (looked for {file}); "
            "fix 'modelfile_path' (relative to the manifest's folder)",
        )
        return None
    if file.is_dir():
        message = f"'{value}' is a folder; point 'modelfile_path' at the Modelfile in it"
        findings.problem(path, message)
        return None
    try:
        with file.open("rb") as f:
            data = f.read(MAX_MODELFILE_BYTES + 1)
    except OSError as e:
        findings.problem(path, f"cannot read Modelfile '{value}': {e.strerror}")
        return None
    if len(data) > MAX_MODELFILE_BYTES:
        findings.problem(path, f"Modelfile '{value}' is larger than 4 MiB; is it the right file?")
        return None
    from provisioner.custom.modelfile.grammar import decode_modelfile

    return decode_modelfile(data)


def _inline_position(
    node: Scalar, line: int, column: int, text: str, file: str
) -> tuple[Position, str]:
    """Where line:column of inline Modelfile text was written in the manifest."""
    value = node.value if isinstance(node.value, str) else ""
    if node.block:
        raw_lines = text[node.start : node.end].splitlines()[1:]
        indents = [len(r) - len(r.lstrip(" ")) for r in raw_lines if r.strip()]
        indent = indents[0] if indents else 0
        return Position(file, node.line + line, indent + column), ""
    if "\n" not in value:
        quote = 0 if node.plain else 1
        return Position(file, node.line, node.column + quote + column - 1), ""
    return Position(file, node.line, node.column), f" (line {line} of the Modelfile)"


def _structured(
    entry: dict[str, Any], path: Path_, findings: Findings, base_dir: Path
) -> CreateSpec | None:
    base = _base(entry["from"], (*path, "from"), findings, base_dir)
    parameters = _parameters(entry.get("parameters", {}), (*path, "parameters"), findings)
    adapters = [
        _adapter(a, (*path, "adapters", i), findings, base_dir)
        for i, a in enumerate(entry.get("adapters", []))
    ]
    license_ = entry.get("license", [])
    if base is None or parameters is None or None in adapters:
        return None
    return CreateSpec(
        from_=base[0],
        from_is_path=base[1],
        system=entry.get("system"),
        template=entry.get("template"),
        parameters=parameters,
        messages=tuple((m["role"], m["content"]) for m in entry.get("messages", [])),
        adapters=tuple(a for a in adapters if a is not None),
        license=(license_,) if isinstance(license_, str) else tuple(license_),
    )


def _base(value: str, path: Path_, findings: Findings, base_dir: Path) -> tuple[str, bool] | None:
    """(from, is_path): an existing file or folder, else a model name."""
    candidate = local_path(value, base_dir)
    if exists(candidate):
        kind = special_file(str(candidate))
        if kind is not None:
            findings.problem(
                path,
                f"'from' path '{value}' is {kind}, not a file or folder of weights; "
                "point 'from' at a GGUF or safetensors file or folder",
            )
            return None
        return str(candidate), True
    if looks_like_path(value):
        findings.problem(
            path,
            f"'from' path '{value}' does not exist (looked for {candidate}); fix the path "
            "(relative to the manifest's folder), or name a model without ./ / ~",
        )
        return None
    reason = invalid_reason(value)
    if reason is not None:
        findings.problem(
            path,
            f"base '{value}' is neither a model name ({reason}) nor an existing file; fix 'from'",
        )
        return None
    return value, False


def _adapter(value: str, path: Path_, findings: Findings, base_dir: Path) -> str | None:
    file = local_path(value, base_dir)
    if not exists(file):
        findings.problem(
            path,
            f"adapter '{value}' does not exist (looked for {file}); "
            "fix the path (relative to the manifest's folder)",
        )
        return None
    kind = special_file(str(file))
    if kind is not None:
        findings.problem(
            path,
            f"adapter '{value}' is {kind}, not a file or folder of weights; "
            "point it at a GGUF or safetensors adapter",
        )
        return None
    return str(file)


def _parameters(values: dict[str, Any], path: Path_, findings: Findings) -> dict[str, Any] | None:
    """Parameters typed as a Modelfile's PARAMETER lines are (the schema checked the kinds)."""
    result: dict[str, Any] = {}
    ok = True
    for name, value in values.items():
        if is_deprecated(name):
            findings.warning(
                (*path, name),
                f"parameter '{name}' is deprecated and Ollama ignores it; remove it",
                key=True,
            )
            continue
        try:
            result[name] = typed(name, value)
        except ValueError as err:
            findings.problem((*path, name), f"parameter '{name}' must be {err}")
            ok = False
    return result if ok else None
