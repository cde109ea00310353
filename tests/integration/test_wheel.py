"""The package as an operator installs it: a wheel in a fresh virtual environment outside
the repository, with its templates, migrations and sample configuration inside it, and
its data directory in the current folder (issue 8, item 2)."""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_top_level_is_the_design_cards():
    """DESIGN.md's layout: templates/ and config/ at the top, not inside the package."""
    top = {p.name for p in ROOT.iterdir()}
    assert {"pyproject.toml", "newsletter", "templates", "workers", "config", "tests",
            "docker-compose.yml"} <= top
    assert not (ROOT / "newsletter" / "templates").exists() and not (ROOT / "newsletter" / "sample").exists()
    config = {p.name for p in (ROOT / "config").iterdir()}
    assert {"publications.toml", "sample-feed.xml", "settings.example.env"} <= config


def test_the_wheel_runs_the_demo_outside_the_repository(tmp_path):
    dist = tmp_path / "dist"
    # Built from a copy of the sources: setuptools leaves a build/ folder behind, and one
    # left in the checkout by an earlier build would put stale files in this wheel.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "var", "*.egg-info", "__pycache__", "node_modules", "test-output"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("newsletter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # The top-level templates/ and config/ travel inside the package.
    assert {"newsletter/templates/email/edition.html", "newsletter/templates/web/signup.html",
            "newsletter/templates/admin/base.html", "newsletter/sample/publications.toml",
            "newsletter/sample/sample-feed.xml", "newsletter/sample/settings.example.env"} <= names
    assert not any(n.startswith(("templates/", "config/")) for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    # The dependencies are borrowed from the test's own environment (no network needed);
    # the package itself can only come from the wheel: the repository is not on the path.
    (site_dir,) = (venv / "lib").glob("python3*/site-packages")
    (site_dir / "borrowed-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    work = tmp_path / "operator"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSLETTER_", "PYTHON"))}
    where = subprocess.run([str(python), "-c", "import newsletter; print(newsletter.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site_dir)), where
    out = subprocess.run([str(venv / "bin" / "newsletter"), "demo", "--subscribers", "20"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "messages written now: 20;" in " ".join(out.stdout.split())  # rich may wrap the line
    assert len(list((work / "var" / "outbox").glob("*.eml"))) == 20
    assert not (site_dir / "var").exists() and not (site_dir / "newsletter" / "var").exists()
