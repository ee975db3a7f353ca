"""Pulls run smallest first, so that on a disk that fills up what fits converges;
a pinned pull checks what landed."""

from __future__ import annotations

from typing import Any, cast

from provisioner.names import parse_name
from provisioner.reconcile.actions import Drift, Pin, Pull
from provisioner.reconcile.apply import apply_plan, smallest_first
from provisioner.reconcile.plan import Plan
from provisioner.server.client import Client
from provisioner.types.wire import TagEntry


def pull(name: str) -> Pull:
    model = parse_name(name)
    return Pull(model, Drift("missing", model, "present", "absent"))


def test_small_models_first_and_unknown_sizes_last() -> None:
    pulls = [pull("big"), pull("unknown"), pull("tiny"), pull("mid")]
    sizes = {parse_name(n).key: s for n, s in (("big", 200e6), ("tiny", 5e5), ("mid", 4e6))}
    ordered = smallest_first(pulls, {k: int(v) for k, v in sizes.items()})
    assert [p.model.model for p in ordered] == ["tiny", "mid", "big", "unknown"]
    assert smallest_first(pulls, {}) == pulls  # nothing known: the plan's order


class _Landed:
    """A server whose pull lands the tag on one digest, as Client.tags spells it."""

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def pull(self, name: str, **_: Any) -> None:
        pass

    def tags(self) -> list[TagEntry]:
        return [TagEntry("tiny:latest", self.digest, 1, "")]


def test_a_pinned_pull_accepts_either_hashing_of_the_pin_and_nothing_else() -> None:
    model = parse_name("tiny")
    pin, reserialized, moved = ("sha256:" + c * 64 for c in "abc")
    drift = Drift("digest-mismatch", model, pin, "absent")
    plan = Plan("0.11.4", (Pull(model, drift, pin=Pin(pin, (pin, reserialized))),), ())
    for landed, outcome in ((pin, "done"), (reserialized, "done"), (moved, "failed")):
        [result] = apply_plan(plan, cast(Client, _Landed(landed)))
        assert result.outcome == outcome, landed
    assert "the tag moved" in (result.error or "")
