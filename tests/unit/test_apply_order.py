"""Pulls run smallest first, so that on a disk that fills up what fits converges."""

from provisioner.names import parse_name
from provisioner.reconcile.actions import Drift, Pull
from provisioner.reconcile.apply import smallest_first


def pull(name: str) -> Pull:
    model = parse_name(name)
    return Pull(model, Drift("missing", model, "present", "absent"))


def test_small_models_first_and_unknown_sizes_last() -> None:
    pulls = [pull("big"), pull("unknown"), pull("tiny"), pull("mid")]
    sizes = {parse_name(n).key: s for n, s in (("big", 200e6), ("tiny", 5e5), ("mid", 4e6))}
    ordered = smallest_first(pulls, {k: int(v) for k, v in sizes.items()})
    assert [p.model.model for p in ordered] == ["tiny", "mid", "big", "unknown"]
    assert smallest_first(pulls, {}) == pulls  # nothing known: the plan's order
