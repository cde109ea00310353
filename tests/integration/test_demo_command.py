"""`newsletter demo` in a fresh folder, twice: works, and sends nothing twice."""
import os
import subprocess
import sys
from pathlib import Path


def run_demo(var: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_VAR_DIR"] = str(var)
    out = subprocess.run([sys.executable, "-m", "newsletter.cli", "demo", "--subscribers", "40"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


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
