"""The Jinja2 environments: autoescaping for HTML, undefined variables are errors.

Templates are looked up, first match wins, in:

1. settings.templates_dir/<publication slug>/  (one publication's own wording and look)
2. settings.templates_dir/                     (the operator's house set)
3. the project's own set                       (templates/ at the top; in the wheel)

so an operator overrides one file for one publication without copying the rest.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.config import shipped_dir

# Publication slugs are checked when publications are loaded; this keeps a folder name
# that is not a plain slug (a "..", a separator) from ever becoming a search path.
_PLAIN_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@lru_cache(maxsize=64)
def environment(templates_dir: Path | None = None, publication_slug: str = "") -> Environment:
    loaders = []
    if templates_dir and publication_slug and _PLAIN_SLUG.fullmatch(publication_slug):
        loaders.append(FileSystemLoader(str(Path(templates_dir) / publication_slug)))
    if templates_dir:
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(FileSystemLoader(str(shipped_dir("templates"))))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
