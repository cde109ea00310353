"""Error lines on the terminal: one line whatever the message holds, a control character
shown as its escape, a list of problems each on a line of its own; reasons refused with
control characters."""
import pytest

from newsletter.cli import common
from newsletter.errors import InvalidInput
from newsletter.text import clean_reason, shown


def test_one_line_whatever_the_message_holds(capsys):
    common.print_error("no such file: pubs\x1b[2J.toml\nsecond [bold]line[/]")
    assert capsys.readouterr().err == "error: no such file: pubs\\x1b[2J.toml second [bold]line[/]\n"


def test_problems_each_on_a_line_of_their_own(capsys):
    common.print_error("p.toml: 2 problems, nothing loaded:", details=["publication 'a': x\ny", "feed 'b': \x07z"])
    assert capsys.readouterr().err.splitlines() == ["error: p.toml: 2 problems, nothing loaded:",
                                                    "  publication 'a': x y", "  feed 'b': \\x07z"]


def test_reasons_and_paths():
    assert clean_reason("  checking\nthe lead ") == "checking the lead"
    for bad in ("a\x1b[31mred", "bell\x07", "c1\x9b"):
        with pytest.raises(InvalidInput, match="control characters"):
            clean_reason(bad)
    assert shown("pubs.toml") == "pubs.toml" and shown("pubs\x1b.toml") == "'pubs\\x1b.toml'"
