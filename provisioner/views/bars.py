"""The columns of the terminal bars, in our units (views/units.py): rich's own
DownloadColumn and TransferSpeedColumn print `kB`, the piped lines and `status`
print `KB`. Imported only when bars are drawn (rich costs ~0.1 s to import)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from provisioner.views.units import human_size


class SizeColumn(ProgressColumn):
    """`1.2 MB/4.7 GB`; only what is done while the total is unknown."""

    def render(self, task: Task) -> Text:
        done = human_size(task.completed)
        if task.total is None:
            return Text(done, style="progress.download")
        return Text(f"{done}/{human_size(task.total)}", style="progress.download")


class SpeedColumn(ProgressColumn):
    """`3.4 MB/s` once rich has two samples to measure it by; blank before."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = f"{human_size(speed)}/s" if speed is not None else ""
        return Text(shown, style="progress.data.speed")


def bar_columns() -> tuple[ProgressColumn, ...]:
    """Name, bar, size, speed, time left: one model's row (and the total's)."""
    return (
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        SizeColumn(),
        SpeedColumn(),
        TimeRemainingColumn(),
    )
