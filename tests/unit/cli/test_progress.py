"""Progress: a rich bar on a terminal, plain lines otherwise."""
import io

from rich.console import Console

from newsletter.cli.progress import counting


def test_a_bar_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with counting(console, "importing list.csv") as advance:
        for done in (400, 800, 1000):
            advance(done, 1000)
    text = out.getvalue()
    assert "importing list.csv" in text and "1000/1000" in text and "\x1b[" in text  # drawn, not logged


def test_plain_lines_otherwise():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with counting(console, "importing list.csv", plain_every=0) as advance:
        advance(500, 1000)
        advance(1000, 1000)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("importing list.csv: 500/1000, ") and "s left" in lines[0]
    assert lines[1].startswith("importing list.csv: 1000/1000, ") and "\x1b[" not in out.getvalue()
