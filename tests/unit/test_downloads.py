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
