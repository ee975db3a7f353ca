import io

from provisioner.server.client import Progress
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


def test_view_choice() -> None:
    assert isinstance(progress_view(quiet=False, stream=io.StringIO()), PlainProgress)
    assert isinstance(progress_view(quiet=True, stream=Tty()), Silent)
    view = progress_view(quiet=False, stream=Tty())
    assert isinstance(view, RichProgress)
    view.close()
