"""Checks across the `models:` entries: each name declared once (aliases too), no base
deleted by the same manifest, no cycle of bases, no two models on one mirror name."""

from __future__ import annotations

from provisioner.errors import Problem
from provisioner.manifest.findings import Findings, Path_, pointer
from provisioner.manifest.mirrors import mirror_name, route, shared_names
from provisioner.manifest.models import DEFINITIONS, Declared, Models
from provisioner.manifest.schema import model_label
from provisioner.names import ModelName
from provisioner.types.manifest import Mirror


def check_duplicates(findings: Findings, models: Models) -> None:
    """Each name, after normalization, is declared once: as a model or as an alias."""
    seen: dict[tuple[str, str, str, str], Declared] = {}
    declared = models.declared
    ordered = [d for d in declared if not d.alias] + [d for d in declared if d.alias]
    for d in ordered:
        first = seen.get(d.name.key)
        if first is None:
            seen[d.name.key] = d
            continue
        line = findings.at(first.path).line
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
            owner = model_label(first.owner, findings.data)
            message = (
                f"alias '{d.text}' is already an alias of {owner} at line {line}; "
                "use each alias once"
            )
        findings.problem(d.path, message)


def check_bases(findings: Findings, models: Models) -> None:
    """A base is not deleted by the same manifest, and no model is built from itself."""
    specs, entries = models.specs, findings.data.get("models")
    owners = {
        d.name.key: d.owner
        for d in models.declared
        if d.owner in specs and specs[d.owner].kind != "absent"
    }
    absent = {s.name.key: i for i, s in specs.items() if s.kind == "absent"}
    edges: dict[int, int] = {}
    for i, spec in specs.items():
        if spec.base is None:
            continue
        if spec.base.key in absent:
            line = findings.at(("models", absent[spec.base.key])).line
            assert spec.create is not None
            _base_problem(
                findings,
                models,
                i,
                f"base '{spec.create.from_}' is declared 'state: absent' at line {line}; "
                f"keep it, since '{entries[i]['name']}' is built from it",
            )
        elif spec.base.key in owners:
            edges[i] = owners[spec.base.key]
    for cycle in _cycles(edges):
        names = [entries[j]["name"] for j in cycle]
        if len(cycle) == 1:
            message = f"model '{names[0]}' is built from itself; give it another name or base"
        else:
            chain = " -> ".join(f"'{n}'" for n in [*names, names[0]])
            message = f"models {chain} are built from each other; break the cycle"
        _base_problem(findings, models, min(cycle), message)


def check_mirror_names(findings: Findings, models: Models, mirrors: dict[str, Mirror]) -> None:
    """A prefix replaces the namespace: two models must not share a mirror name."""

    def prefixed(name: ModelName) -> Mirror | None:
        mirror = route(name, mirrors)
        return mirror if mirror is not None and mirror.prefix is not None else None

    named = [d for d in models.declared if not d.alias]  # an alias is a copy, never pulled
    for first_at, other_at in shared_names([d.name for d in named], prefixed):
        first, d = named[first_at], named[other_at]
        mirror = prefixed(d.name)
        assert mirror is not None
        findings.problem(
            d.path,
            f"'{d.text}' and '{first.text}' (line {findings.at(first.path).line}) would both "
            f"pull as {mirror_name(d.name, mirror)} from mirror {mirror.to}, whose prefix "
            "replaces the namespace; mirror them without a prefix",
        )


def _base_problem(findings: Findings, models: Models, i: int, message: str) -> None:
    """A problem with model i's base: at its Modelfile's FROM value when it has one."""
    entry = findings.data["models"][i]
    path: Path_ = ("models", i, next(k for k in DEFINITIONS if k in entry))
    at = models.custom.from_position(("models", i))
    if at is None:
        findings.problem(path, message)
    else:
        findings.problem_elsewhere(path, Problem(at, pointer(path), message))


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
