"""`newsletter demo` in a fresh folder, twice: works, and sends nothing twice."""
from pathlib import Path

from tests.command_line import CommandLine


def run_demo(var: Path) -> str:
    """In a process of its own (`demo` is one), with nothing set but the folder."""
    return CommandLine(var.parent, {"NEWSLETTER_VAR_DIR": str(var)})("demo", "--subscribers", "40").stdout


def test_demo_twice(tmp_path):
    var = tmp_path / "var"
    first = run_demo(var)
    files = sorted((var / "outbox").glob("*.eml"))
    assert len(files) == 40 and "messages written now: 40" in first
    assert (var / "secret_key").exists()
    preview = next((var / "previews").glob("*.html"))
    assert "SUPERPOWERS" in preview.read_text()
    second = run_demo(var)
    assert "messages written now: 0" in second
    assert sorted((var / "outbox").glob("*.eml")) == files
