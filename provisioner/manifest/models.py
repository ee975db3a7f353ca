"""The `models:` entries, one at a time: names as Ollama reads them, settings over the
defaults, custom definitions (custom_models.py), and each entry's ModelSpec.

What concerns several entries (duplicates, bases, cycles, mirror names) is
across.py; it reads the names declared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from provisioner.digests import full_digest
from provisioner.errors import InvalidName
from provisioner.manifest.custom_models import CustomModels
from provisioner.manifest.findings import Findings, Path_
from provisioner.manifest.labels import selector_of
from provisioner.manifest.sections import keep_alive
from provisioner.names import ModelName, invalid_reason, parse_name, source_selector_warning
from provisioner.types.manifest import CreateSpec, ModelSpec, PullPolicy

DEFINITIONS = ("modelfile", "modelfile_path", "from")
_CUSTOM_KEYS = (
    *DEFINITIONS,
    *("system", "template", "parameters", "messages", "adapters", "license", "quantize"),
)
_NAME_HELP = "write [host/][namespace/]model[:tag], e.g. llama3.2 or qwen2.5-coder:7b"


@dataclass(frozen=True)
class Declared:
    """A name or alias as declared, for the checks across models."""

    name: ModelName
    text: str
    path: Path_
    owner: int  # index of the model entry
    alias: bool


class Models:
    """The ModelSpecs of one manifest's entries, and every name they declare."""

    def __init__(self, findings: Findings, text: str, base_dir: Path) -> None:
        self.findings = findings
        self.declared: list[Declared] = []
        self.specs: dict[int, ModelSpec] = {}
        self.custom = CustomModels(findings, text, base_dir)

    def add(self, i: int, entry: dict[str, Any], defaults: dict[str, Any]) -> None:
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
        keep = settings.get("keep_alive")
        if "keep_alive" in entry and not failed((*path, "keep_alive")):
            keep = keep_alive(self.findings, entry["keep_alive"], (*path, "keep_alive"))
        custom = any(k in entry for k in DEFINITIONS)
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
            keep_alive=keep,
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
        self.declared.append(Declared(name, text, path, owner, alias))
        return name

    def base(
        self, create: CreateSpec | None, entry: dict[str, Any], path: Path_
    ) -> ModelName | None:
        """The base of a custom model, when it is a model; a Modelfile's FROM is checked here."""
        if create is None or create.from_is_path:
            return None
        key = next(k for k in DEFINITIONS if k in entry)
        reason = invalid_reason(create.from_)
        if reason is not None:
            self.findings.problem(
                (*path, key),
                f"base '{create.from_}' is neither a model name ({reason}) nor an existing file; "
                "fix FROM",
            )
            return None
        return parse_name(create.from_)
