"""Progress for people: live bars on a terminal, plain throttled lines elsewhere.

Both views take the client's Progress events (one per stream line) and fold
the per-layer numbers into one figure per model plus a total.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

from provisioner.types.wire import Progress
from provisioner.views.units import human_size


class ProgressView(Protocol):
    def __call__(self, event: Progress) -> None: ...

    def log(self, line: str) -> None: ...

    def close(self) -> None: ...


class _Totals:
    """Bytes done and to do per model, summed over its layers (or files)."""

    def __init__(self) -> None:
        self.layers: dict[str, dict[str, tuple[int, int]]] = {}

    def update(self, event: Progress) -> tuple[int, int]:
        layers = self.layers.setdefault(event.model, {})
        if event.total:
            key = event.digest or event.status
            layers[key] = (event.completed or 0, event.total)
        done = sum(c for c, _ in layers.values())
        total = sum(t for _, t in layers.values())
        return done, total

    def overall(self) -> tuple[int, int]:
        pairs = [p for layers in self.layers.values() for p in layers.values()]
        return sum(c for c, _ in pairs), sum(t for _, t in pairs)


class PlainProgress:
    """A line when a model's status changes, and at most every `interval` seconds."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 2.0) -> None:
        self._stream = stream
        self._interval = interval
        self._last: dict[str, tuple[str, float]] = {}
        self._totals = _Totals()
        self._lock = threading.Lock()

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        with self._lock:
            done, total = self._totals.update(event)
            status, at = self._last.get(event.model, ("", 0.0))
            # Every layer's "pulling <digest>" line is one stage: throttle them together.
            stage = "transfer" if event.digest else event.status
            if stage == status and now - at < self._interval:
                return
            self._last[event.model] = (stage, now)
            line = f"  {event.model}: {event.status}"
            if total and stage == "transfer":  # a percentage only while bytes move
                line += f" {100 * done / total:.0f}% ({human_size(done)}/{human_size(total)})"
            print(line, file=self._stream, flush=True)

    def log(self, line: str) -> None:
        print(line, flush=True)

    def close(self) -> None:
        return


class RichProgress:
    """Live bars: one per model (bytes, rate, ETA), and the total below them."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        # rich costs ~0.1 s to import: only a terminal that shows bars pays for it.
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import Progress as Bars
        from rich.progress import TaskID

        from provisioner.views.bars import bar_columns

        columns = bar_columns()
        self._console = Console(file=stream)
        self._models = Bars(*columns, console=self._console)
        self._total_bar = Bars(*columns, console=self._console)
        self._total = self._total_bar.add_task("total", total=None, visible=False)
        self._live = Live(Group(self._models, self._total_bar), console=self._console)
        self._tasks: dict[str, TaskID] = {}
        self._totals = _Totals()
        self._lock = threading.Lock()
        self._live.start()

    def __call__(self, event: Progress) -> None:
        with self._lock:
            done, total = self._totals.update(event)
            if event.model not in self._tasks:
                self._tasks[event.model] = self._models.add_task(event.model, total=None)
            stage = "done" if event.status == "success" else event.status.split(" ")[0]
            label = f"{event.model} [dim]{stage}[/dim]"
            task = self._tasks[event.model]
            self._models.update(task, completed=done, total=total or None, description=label)
            all_done, all_total = self._totals.overall()
            # Pad "total" to the model column so the bars line up.
            width = max(len(f"{model} {stage}") for model in self._tasks)
            self._total_bar.update(
                self._total,
                completed=all_done,
                total=all_total or None,
                visible=True,
                description=f"{'total':<{width}}",
            )

    def log(self, line: str) -> None:
        self._console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        self._live.stop()


class Silent:
    def __call__(self, event: Progress) -> None:
        return

    def log(self, line: str) -> None:
        print(line, flush=True)

    def close(self) -> None:
        return


def progress_view(*, quiet: bool, stream: TextIO = sys.stderr) -> ProgressView:
    """Bars on a terminal, plain lines when piped (CI logs), nothing with --quiet."""
    if quiet:
        return Silent()
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)
