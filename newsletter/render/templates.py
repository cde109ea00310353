"""The Jinja2 environment: autoescaping for HTML, undefined variables are errors.

Templates are looked up in the operator's folder first (settings.templates_dir),
then in the set shipped with the package: an operator overrides one file without
copying the rest.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=8)
def environment(templates_dir: Path | None = None) -> Environment:
    loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(PackageLoader("newsletter", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
