"""The Python API, for people who script provisioning instead of calling the CLI.

    import provisioner
    manifest = provisioner.load("models.yaml")
    inline = provisioner.loads({"version": 1, "models": [{"name": "llama3.2"}]})
    print(provisioner.plan(manifest).actions)
    results = provisioner.apply(manifest)
    leftovers = provisioner.drift(manifest)

Every function runs the same pipeline as the CLI (reconcile/core.py): it reads
the lock beside the manifest when there is one, resolves the host the same
way (`host`, else the manifest's server.host, else OLLAMA_HOST, else
http://127.0.0.1:11434), and gives the same answer as the matching command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import ManifestError, Position, Problem, ProvisionError
from provisioner.manifest.load import load_manifest, load_manifest_text
from provisioner.reconcile import core
from provisioner.reconcile.actions import Drift
from provisioner.reconcile.apply import Result
from provisioner.reconcile.plan import Plan
from provisioner.server.client import DEFAULT_STALL
from provisioner.types.manifest import Manifest
from provisioner.types.wire import ProgressCallback


def load(path: str | Path) -> Manifest:
    """Load and validate a manifest; raises ManifestError listing every problem."""
    return load_manifest(path)


def loads(
    document: str | Mapping[str, Any],
    *,
    source: str = "<string>",
    base_dir: str | Path | None = None,
) -> Manifest:
    """Load and validate a manifest given as YAML text, or as plain data shaped like
    one (a mapping with `version`, `models`, ...), through the same loader, schema and
    messages as load(). Positions name `source`; a mapping is written out as JSON (a
    subset of YAML, so no value changes type), one key per line, and positions count
    lines of that. Relative files resolve from base_dir (default: the current folder);
    the manifest's path is base_dir/source, so no lock is read unless one sits there.
    """
    folder = Path.cwd() if base_dir is None else Path(base_dir)
    if isinstance(document, str):
        text = document
    else:
        try:
            text = json.dumps(document, indent=2, allow_nan=False, default=_refuse)
        except TypeError as e:
            raise ManifestError([Problem(Position(source, 1, 1), "", str(e))]) from None
        except ValueError:  # json's own words name JSON, not the manifest
            message = "every number in a manifest must be finite, not nan or inf"
            raise ManifestError([Problem(Position(source, 1, 1), "", message)]) from None
    return load_manifest_text(text, folder / source, file=source)


def _refuse(value: object) -> Any:
    raise TypeError(
        f"a manifest holds text, numbers, booleans, lists and mappings, "
        f"not {type(value).__name__}; convert it first"
    )


# Where a host given to these functions came from, for the hint when it is down
# (the CLI says --host; the Ansible module's option is also called host).
API_HOST = "the host argument"


def plan(
    manifest: Manifest,
    *,
    host: str | None = None,
    check_updates: bool = False,
    prune: bool | None = None,
    targets: Sequence[str] = (),
    locked: bool = False,
) -> Plan:
    """Observe the server and return what apply would do (nothing is changed).
    targets: only these declared models and what they need (like --target).
    locked: raise Refused where the manifest differs from its lock, as apply would."""
    settings = core.Settings(
        host=host,
        check_updates=check_updates,
        prune=prune,
        targets=tuple(targets),
        locked=locked,
        host_source=API_HOST,
    )
    return core.plan(manifest, settings).plan


def apply(
    manifest: Manifest,
    *,
    host: str | None = None,
    parallel: int = 2,
    allow_deletions: bool = False,
    check_updates: bool = False,
    prune: bool | None = None,
    locked: bool = False,
    stall_timeout: float = DEFAULT_STALL,
    targets: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> list[Result]:
    """Converge the server to the manifest; one Result per action (check `outcome`).
    on_plan is given the plan once it is made, before any change.

    Models declared `state: absent` are deleted. Undeclared models deleted by
    pruning are refused (ProvisionError, nothing changed) unless allow_deletions.
    With locked, anything that differs from the lock raises Refused (nothing changed).
    """
    settings = core.Settings(
        host=host,
        check_updates=check_updates,
        prune=prune,
        locked=locked,
        parallel=parallel,
        stall_timeout=stall_timeout,
        targets=tuple(targets),
        host_source=API_HOST,
    )
    refused: list[str] = []

    def consent(names: list[str]) -> bool:
        refused.extend(names)
        return allow_deletions

    def planned(made: core.Planned) -> None:
        if on_plan is not None:
            on_plan(made.plan)

    hooks = core.Hooks(on_plan=planned, on_progress=on_progress, confirm_prune=consent)
    applied = core.apply(manifest, settings, hooks)
    if applied.outcome == "cancelled":
        raise ProvisionError(
            f"the plan prunes {', '.join(refused)}; pass allow_deletions=True to allow it"
        )
    return list(applied.results)


def drift(
    manifest: Manifest,
    *,
    host: str | None = None,
    check_updates: bool = False,
    targets: Sequence[str] = (),
) -> tuple[Drift, ...]:
    """How the server differs from the manifest (extra models included, kind "extra"),
    and where the manifest differs from its lock (kind "lock"), as the drift command."""
    settings = core.Settings(
        host=host, check_updates=check_updates, targets=tuple(targets), host_source=API_HOST
    )
    return core.plan(manifest, settings).drifts
