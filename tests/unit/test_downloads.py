"""What a plan's pulls download: the blobs of their manifests the server lacks."""

from __future__ import annotations

from provisioner.names import parse_name
from provisioner.reconcile.actions import Drift, Pull
from provisioner.reconcile.downloads import download_sizes
from provisioner.reconcile.plan import Plan
from provisioner.types.state import RemoteManifest
from provisioner.views.json_docs import plan_json
from provisioner.views.text import action_line, plan_counts


def pull(name: str) -> Pull:
    n = parse_name(name)
    return Pull(n, Drift("missing", n, "present", "absent"))


def remote(name: str, *blobs: tuple[str, int]) -> RemoteManifest:
    return RemoteManifest(parse_name(name), "", "", (), sum(n for _, n in blobs), blobs)


def test_only_missing_blobs_count_and_a_shared_one_counts_once_in_the_total() -> None:
    plan = Plan("0.11.4", (pull("a"), pull("b"), pull("c")), ())
    manifests = {
        parse_name("a").key: remote("a", ("cfg-a", 10), ("shared", 1000), ("own-a", 200)),
        parse_name("b").key: remote("b", ("cfg-b", 20), ("shared", 1000)),
    }  # c: its registry could not be read
    sized = download_sizes(plan, manifests, {"cfg-a", "shared", "cfg-b"})
    a, b, c = sized.actions
    assert isinstance(a, Pull) and a.download_bytes == 1010  # own-a is on the server
    assert isinstance(b, Pull) and b.download_bytes == 1020
    assert isinstance(c, Pull) and c.download_bytes is None
    assert sized.download_bytes == 1030
    assert plan_counts(sized).endswith("; will download 1.0 KB (and 1 pull of unknown size)")
    assert action_line(a) == "  + pull   a:latest  (missing; 1.0 KB to download)"
    assert plan_json(sized)["download_bytes"] == 1030


def test_nothing_known_means_no_total() -> None:
    plan = Plan("0.11.4", (pull("a"),), ())
    sized = download_sizes(plan, {}, set())
    assert sized.download_bytes is None
    assert "download" not in plan_counts(sized)


def test_refused_pulls_become_failures_and_unreachable_registries_one_warning_each() -> None:
    from provisioner.errors import ConnectionFailed, NotFound, PlainHttp
    from provisioner.reconcile.downloads import Checked, with_checks

    typo, plain = pull("reg:5000/library/tinyy"), pull("reg:5000/library/plain")
    far, farther = pull("far:1/library/a"), pull("far:1/library/b")
    plan = Plan("0.11.4", (typo, plain, far, farther), ())
    checked = Checked(
        {},
        {
            typo.model.key: NotFound("registry reg:5000 has no repository library/tinyy"),
            plain.model.key: PlainHttp("registry reg:5000 speaks plain http, not https: set x"),
        },
        {"far:1": ConnectionFailed("cannot reach registry far:1: refused")},
    )
    checked_plan = with_checks(plan, checked)
    assert checked_plan.actions == (far, farther)  # an unreachable registry's pulls stand
    assert [(f.model, f.refused, f.drift) for f in checked_plan.failures] == [
        (typo.model, True, typo.drift),
        (plain.model, True, plain.drift),
    ]
    assert checked_plan.failures[0].message == "registry reg:5000 has no repository library/tinyy"
    assert checked_plan.failures[1].message.endswith("set x on this model")  # where to set it
    assert checked_plan.unchecked == (
        "not checked: far:1 unreachable from here (cannot reach registry far:1: refused); "
        "the server may still reach it",
    )
    assert checked_plan.problems == checked_plan.failures  # drift exits 1 for these
    assert with_checks(plan, Checked({}, {}, {})) is plan
