"""Every exception lives in errors.py and is named in its docstring's tree."""

from __future__ import annotations

import importlib
import pkgutil

import provisioner
from provisioner import errors


def _all_subclasses(base: type) -> set[type]:
    found: set[type] = set(base.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_exception_is_defined_in_errors_and_drawn_in_its_tree() -> None:
    for module in pkgutil.walk_packages(provisioner.__path__, "provisioner."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    ours = _all_subclasses(errors.ProvisionError)
    assert errors.AuthFailed in ours
    assert {e.__module__ for e in ours} == {"provisioner.errors"}
    doc = errors.__doc__ or ""
    assert [e.__name__ for e in sorted(ours, key=str) if e.__name__ not in doc] == []
