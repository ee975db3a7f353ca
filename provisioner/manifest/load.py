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
from typing import Any, cast

from provisioner import secrets
from provisioner.digests import full_digest
from provisioner.errors import InvalidDuration, InvalidName, ManifestError, Position, Problem
from provisioner.manifest.custom_models import CustomModels
from provisioner.manifest.durations import keep_alive_value, timeout_seconds
from provisioner.manifest.findings import Findings, Path_, one_line, pointer
from provisioner.manifest.interpolate import expand_tree
from provisioner.manifest.labels import selector_of
from provisioner.manifest.mirrors import mirror_name, route, split_to
from provisioner.manifest.schema import check, model_label, subject
from provisioner.manifest.yaml_loader import compose, position_in, to_plain
from provisioner.names import ModelName, invalid_reason, parse_name, source_selector_warning
from provisioner.types.manifest import (
    CreateSpec,
    Manifest,
    Mirror,
    ModelSpec,
    PruneSettings,
    PullPolicy,
    ServerSettings,
)

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
    manifest = None
    if isinstance(data, dict):
        manifest = _Builder(findings, data, text, p).build()
    if findings.problems or manifest is None:
        raise ManifestError(findings.problems)
    return manifest


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


@dataclass
class _Declared:
    """A name or alias as declared, for the checks across models."""

    name: ModelName
    text: str
    path: Path_
    owner: int  # index of the model entry
    alias: bool


class _Builder:
    """Turns schema-valid data into a Manifest, reporting what the schema cannot see."""

    def __init__(self, findings: Findings, data: dict[str, Any], text: str, path: Path) -> None:
        self.findings = findings
        self.data = data
        self.text = text
        self.path = path
        self.base_dir = path.resolve().parent
        self.declared: list[_Declared] = []
        self.specs: dict[int, ModelSpec] = {}
        self.custom = CustomModels(findings, text, self.base_dir)

    def build(self) -> Manifest:
        """The Manifest; it is only used when no problem was found on the way."""
        server = self.server(self.section("server"))
        defaults = self.defaults(self.section("defaults"))
        models = self.data.get("models")
        if isinstance(models, list):
            for i, entry in enumerate(models):
                if isinstance(entry, dict):
                    self.model(i, entry, defaults)
        self.check_duplicates()
        self.check_bases()
        mirrors = self.mirrors(self.section("mirrors"))
        prune = self.usable(self.section("prune"), ("prune",))
        keep = prune.get("keep")
        return Manifest(
            path=self.path.resolve(),
            version=1,
            server=server,
            models=tuple(self.specs[i] for i in sorted(self.specs)),
            prune=PruneSettings(
                enabled=prune.get("enabled") is True,
                keep=tuple(k for k in keep if isinstance(k, str)) if isinstance(keep, list) else (),
            ),
            warnings=tuple(self.findings.warnings),
            mirrors=mirrors,
        )

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping, or {} when it is missing or not a mapping."""
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}

    def usable(self, section: dict[str, Any], path: Path_) -> dict[str, Any]:
        """The entries of a mapping whose values have no problem of their own yet."""
        return {k: v for k, v in section.items() if not self.findings.reported((*path, k))}

    # ---- server and defaults ------------------------------------------------------

    def server(self, server: dict[str, Any]) -> ServerSettings:
        server = self.usable(server, ("server",))
        host = server.get("host")
        if isinstance(host, str) and "://" in host:
            scheme = host.split("://", 1)[0]
            if scheme.lower() not in ("http", "https"):
                self.findings.problem(
                    ("server", "host"),
                    f"'host' in 'server' must use http:// or https://, not {scheme}://",
                )
        if isinstance(host, str) and "@" in host.partition("://")[2].partition("/")[0]:
            self.findings.problem(
                ("server", "host"),
                "'host' in 'server' must not carry user:password@; send credentials as a "
                "header (server.headers.Authorization), whose value is never printed",
            )
        headers = self.usable(server.get("headers", {}), ("server", "headers"))
        for name, value in headers.items():
            if any(c in value for c in "\r\n\0"):
                self.findings.problem(
                    ("server", "headers", name),
                    f"the value of header '{name}' contains a line break; remove it",
                    key=True,
                )
            elif not value.isascii():
                self.findings.problem(
                    ("server", "headers", name),
                    f"the value of header '{name}' has characters HTTP headers cannot carry "
                    "(only ASCII); encode it (e.g. base64) as the server expects",
                    key=True,
                )
        timeout = None
        if "timeout" in server:
            try:
                timeout = timeout_seconds(server["timeout"])
            except InvalidDuration as e:
                self.findings.problem(("server", "timeout"), f"invalid 'timeout' in 'server': {e}")
        secrets.register(str(v) for v in headers.values())
        return ServerSettings(host=host, headers=dict(headers), timeout=timeout)

    def defaults(self, defaults: dict[str, Any]) -> dict[str, Any]:
        result = self.usable(defaults, ("defaults",))
        if "keep_alive" in result:
            result["keep_alive"] = self.keep_alive(result["keep_alive"], ("defaults", "keep_alive"))
        return result

    def keep_alive(self, value: Any, path: Path_) -> int | str | None:
        try:
            return keep_alive_value(value)
        except InvalidDuration as e:
            self.findings.problem(path, f"invalid {subject(path, self.data)}: {e}")
            return None

    # ---- mirrors ---------------------------------------------------------------------

    def mirrors(self, section: dict[str, Any]) -> dict[str, Mirror]:
        """Mirror entries by source host; a mirror of itself, a source written twice and
        two models landing on one mirror name are problems."""
        mirrors: dict[str, Mirror] = {}
        for source, value in self.usable(section, ("mirrors",)).items():
            path: Path_ = ("mirrors", source)
            to = value if isinstance(value, str) else value.get("to")
            if not isinstance(to, str):
                continue
            host, prefix = split_to(to)
            insecure = isinstance(value, dict) and value.get("insecure") is True
            mirror = Mirror(source.lower(), host, prefix, insecure)
            if mirror.source in mirrors:
                self.findings.problem(
                    path, f"registry '{source}' has a mirror already; keep one entry", key=True
                )
            elif host.lower() == mirror.source:
                self.findings.problem(
                    path, f"the mirror of '{source}' is itself; name another registry"
                )
            else:
                mirrors[mirror.source] = mirror
        self.check_mirror_names(mirrors)
        return mirrors

    def check_mirror_names(self, mirrors: dict[str, Mirror]) -> None:
        """A prefix replaces the namespace: two models must not share a mirror name."""
        seen: dict[tuple[str, str, str, str], _Declared] = {}
        for d in self.declared:
            mirror = None if d.alias else route(d.name, mirrors)
            if mirror is None or mirror.prefix is None:
                continue
            key = mirror_name(d.name, mirror).key
            first = seen.setdefault(key, d)
            if first.name.key != d.name.key:
                self.findings.problem(
                    d.path,
                    f"'{d.text}' and '{first.text}' (line {self.findings.at(first.path).line}) "
                    f"would both pull as {mirror_name(d.name, mirror)} from mirror {mirror.to}, "
                    "whose prefix replaces the namespace; mirror them without a prefix",
                )

    # ---- one model ------------------------------------------------------------------

    def model(self, i: int, entry: dict[str, Any], defaults: dict[str, Any]) -> None:
        """Check one entry and, when it is sound, add its ModelSpec."""
        path: Path_ = ("models", i)
        failed = self.findings.failed
        name = self.name(entry.get("name"), (*path, "name"), i, alias=False)
        aliases = []
        if not failed((*path, "aliases")):
            aliases = [
                self.name(a, (*path, "aliases", j), i, alias=True)
                for j, a in enumerate(entry.get("aliases", []))
            ]
        if name is None:
            return
        position = self.findings.at(path)
        selector = selector_of(entry.get("selector")) if not failed((*path, "selector")) else ()
        if entry.get("state") == "absent":
            if not failed(path):
                self.specs[i] = ModelSpec(
                    name=name, kind="absent", position=position, selector=selector
                )
            return
        settings = {**defaults, **entry}
        keep_alive = settings.get("keep_alive")
        if "keep_alive" in entry and not failed((*path, "keep_alive")):
            keep_alive = self.keep_alive(entry["keep_alive"], (*path, "keep_alive"))
        custom = any(k in entry for k in _DEFINITIONS)
        create = base = None
        if custom and not any(failed((*path, k)) for k in _CUSTOM_KEYS):
            create = self.custom.build(entry, path)
            base = self.base(create, entry, path)
        if failed(path):
            return
        digest = entry.get("digest")
        self.specs[i] = ModelSpec(
            name=name,
            kind="custom" if custom else "registry",
            position=position,
            digest=full_digest(digest) if isinstance(digest, str) else None,
            pull=cast(PullPolicy, settings.get("pull", "if-missing")),
            insecure=settings.get("insecure") is True,
            warm=settings.get("warm") is True,
            keep_alive=keep_alive,
            aliases=tuple(a for a in aliases if a is not None),
            create=create,
            base=base,
            selector=selector,
        )

    def name(self, text: Any, path: Path_, owner: int, *, alias: bool) -> ModelName | None:
        if not isinstance(text, str) or self.findings.failed(path):
            return None
        try:
            name = parse_name(text)
        except InvalidName as e:
            self.findings.problem(path, f"{e}; {_NAME_HELP}")
            return None
        warning = source_selector_warning(name)
        if warning:
            self.findings.warning(path, warning)
        self.declared.append(_Declared(name, text, path, owner, alias))
        return name

    def base(
        self, create: CreateSpec | None, entry: dict[str, Any], path: Path_
    ) -> ModelName | None:
        """The base of a custom model, when it is a model; a Modelfile's FROM is checked here."""
        if create is None or create.from_is_path:
            return None
        key = next(k for k in _DEFINITIONS if k in entry)
        reason = invalid_reason(create.from_)
        if reason is not None:
            self.findings.problem(
                (*path, key),
                f"base '{create.from_}' is neither a model name ({reason}) nor an existing file; "
                "fix FROM",
            )
            return None
        return parse_name(create.from_)

    # ---- across models --------------------------------------------------------------

    def check_duplicates(self) -> None:
        """Each name, after normalization, is declared once: as a model or as an alias."""
        seen: dict[tuple[str, str, str, str], _Declared] = {}
        ordered = [d for d in self.declared if not d.alias] + [d for d in self.declared if d.alias]
        for d in ordered:
            first = seen.get(d.name.key)
            if first is None:
                seen[d.name.key] = d
                continue
            line = self.findings.at(first.path).line
            spelled = f" as '{first.text}'" if first.text != d.text else ""
            if not d.alias:
                message = (
                    f"model '{d.text}' is already declared at line {line}{spelled}; "
                    "declare each model once"
                )
            elif first.owner == d.owner and not first.alias:
                message = f"alias '{d.text}' is the model's own name; remove it"
            elif not first.alias:
                message = (
                    f"alias '{d.text}' is also declared as a model at line {line}{spelled}; "
                    "rename the alias or remove the model"
                )
            else:
                owner = model_label(first.owner, self.data)
                message = (
                    f"alias '{d.text}' is already an alias of {owner} at line {line}; "
                    "use each alias once"
                )
            self.findings.problem(d.path, message)

    def check_bases(self) -> None:
        """A base is not deleted by the same manifest, and no model is built from itself."""
        owners = {
            d.name.key: d.owner
            for d in self.declared
            if d.owner in self.specs and self.specs[d.owner].kind != "absent"
        }
        absent = {s.name.key: i for i, s in self.specs.items() if s.kind == "absent"}
        edges: dict[int, int] = {}
        for i, spec in self.specs.items():
            if spec.base is None:
                continue
            if spec.base.key in absent:
                line = self.findings.at(("models", absent[spec.base.key])).line
                written = self.data["models"][i]["name"]
                assert spec.create is not None
                self.base_problem(
                    i,
                    f"base '{spec.create.from_}' is declared 'state: absent' at line {line}; "
                    f"keep it, since '{written}' is built from it",
                )
            elif spec.base.key in owners:
                edges[i] = owners[spec.base.key]
        for cycle in _cycles(edges):
            first = min(cycle)
            names = [self.data["models"][j]["name"] for j in cycle]
            if len(cycle) == 1:
                message = f"model '{names[0]}' is built from itself; give it another name or base"
            else:
                chain = " -> ".join(f"'{n}'" for n in [*names, names[0]])
                message = f"models {chain} are built from each other; break the cycle"
            self.base_problem(first, message)

    def base_problem(self, i: int, message: str) -> None:
        """A problem with model i's base: at its Modelfile's FROM value when it has one."""
        path = self.definition_path(i)
        at = self.custom.from_position(("models", i))
        if at is None:
            self.findings.problem(path, message)
        else:
            self.findings.problem_elsewhere(path, Problem(at, pointer(path), message))

    def definition_path(self, i: int) -> Path_:
        entry = self.data["models"][i]
        key = next(k for k in _DEFINITIONS if k in entry)
        return ("models", i, key)


_DEFINITIONS = ("modelfile", "modelfile_path", "from")
_CUSTOM_KEYS = (
    *_DEFINITIONS,
    *("system", "template", "parameters", "messages", "adapters", "license", "quantize"),
)
_NAME_HELP = "write [host/][namespace/]model[:tag], e.g. llama3.2 or qwen2.5-coder:7b"


def _cycles(edges: dict[int, int]) -> list[list[int]]:
    """Cycles of a graph where each node has at most one outgoing edge, in edge order."""
    state: dict[int, int] = {}  # 1: on the current walk, 2: done
    cycles = []
    for start in sorted(edges):
        walk = []
        node: int | None = start
        while node is not None and node not in state:
            state[node] = 1
            walk.append(node)
            node = edges.get(node)
        if node is not None and state[node] == 1:
            cycle = walk[walk.index(node) :]
            pivot = cycle.index(min(cycle))
            cycles.append(cycle[pivot:] + cycle[:pivot])
        for n in walk:
            state[n] = 2
    return cycles
