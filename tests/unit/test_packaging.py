"""The wheel's package list is written out in pyproject.toml (templates/ and config/ are
mapped into the package, which `packages.find` cannot do): every package of the source
tree must be in it, or the installed service would miss it."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_the_tree_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    in_tree = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "newsletter").rglob("__init__.py")}
    in_tree |= {".".join(("newsletter", *p.parent.relative_to(ROOT).parts))  # workers/ is newsletter.workers
                for p in (ROOT / "workers").rglob("__init__.py")}
    assert in_tree - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    mapped = {"newsletter.templates", "newsletter.sample"}
    assert listed - in_tree == mapped
