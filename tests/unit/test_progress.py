import io

from provisioner.types.wire import Progress
from provisioner.views.bars import bar_columns
from provisioner.views.progress import PlainProgress, RichProgress, Silent, progress_view


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def events() -> list[Progress]:
    return [
        Progress("a:latest", "pulling manifest"),
        Progress("a:latest", "pulling 1111", "sha256:1", 1000, 500),
        Progress("b:latest", "pulling 2222", "sha256:2", 3000, 1000),
        Progress("a:latest", "pulling 3333", "sha256:3", 1000, 1000),
        Progress("a:latest", "success"),
    ]


def test_plain_lines_sum_layers_per_model_and_throttle() -> None:
    out = io.StringIO()
    view = PlainProgress(out, interval=60)
    for e in events():
        view(e)
    lines = out.getvalue().splitlines()
    assert lines == [
        "  a:latest: pulling manifest",
        "  a:latest: pulling 1111 50% (500 B/1.0 KB)",
        "  b:latest: pulling 2222 33% (1.0 KB/3.0 KB)",
        "  a:latest: success",  # no percentage once the bytes stopped moving
    ]  # the second layer of a:latest is the same stage inside the interval


def test_rich_view_draws_a_bar_per_model_and_a_total() -> None:
    out = Tty()
    view = RichProgress(out)
    for e in events():
        view(e)
    view.close()
    text = out.getvalue()
    assert "a:latest" in text and "b:latest" in text and "total" in text


def test_bars_say_sizes_and_speed_in_our_units() -> None:
    from rich.console import Console
    from rich.progress import Progress as Bars

    clock = [0.0]
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    bars = Bars(*bar_columns(), console=console, get_time=lambda: clock[0])
    large = bars.add_task("a:latest", total=4_700_000)
    small = bars.add_task("b:latest", total=472_480)  # rich's own columns say kB here
    for second in range(1, 4):  # so rich has samples to measure a speed by
        clock[0] = float(second)
        bars.update(large, completed=second * 1_200_000)
        bars.update(small, completed=second * 100_000)
    console.print(bars.get_renderable())
    shown = out.getvalue()
    assert "3.6 MB/4.7 MB" in shown and "1.2 MB/s" in shown, shown
    assert "300.0 KB/472.5 KB" in shown and "100.0 KB/s" in shown, shown
    assert "kB" not in shown


def test_view_choice() -> None:
    assert isinstance(progress_view(quiet=False, stream=io.StringIO()), PlainProgress)
    assert isinstance(progress_view(quiet=True, stream=Tty()), Silent)
    view = progress_view(quiet=False, stream=Tty())
    assert isinstance(view, RichProgress)
    view.close()
