"""Sizes and times as people read them, whatever zone the server runs in."""

from datetime import datetime, timezone

import pytest

from provisioner.views.units import human_size, relative

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2026-12-02T12:09:30.123456789Z", "in 9m"),
        ("2026-12-02T13:09:30.5+01:00", "in 9m"),  # the same instant, written in Paris
        ("2026-12-02T07:09:30-05:00", "in 9m"),
        ("2026-12-02T11:00:00Z", "1h ago"),
        ("2026-11-29T12:00:00Z", "3d ago"),
        ("2026-12-02T12:00:42Z", "in 42s"),
        ("2318-03-15T10:00:00.000000001Z", "never"),
        ("yesterday", "yesterday"),
        ("", "-"),
    ],
)
def test_times_are_relative_and_zone_aware(text: str, shown: str) -> None:
    assert relative(text, NOW) == shown


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (472_480, "472.5 KB"),
        (1_200_000_000, "1.2 GB"),
        (3e12, "3.0 TB"),
    ],
)
def test_one_size_style(n: float, shown: str) -> None:
    assert human_size(n) == shown
