"""Figures as charts: a publication's last 30 editions (/admin/publications/<slug>/figures)
and one edition's (on its page, admin/edition_routes.py, through `edition_charts`).
The numbers are reports/reader_figures.py's, the same the API and `newsletter stats
--json` give; the charts are SVG drawn here (web/charts.py), no script."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from newsletter.operators import figures as operator_figures
from newsletter.web.admin.console import console
from newsletter.web.charts import figure_charts

router = APIRouter()
Slug = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


@router.get("/admin/publications/{slug}/figures")
def publication_figures_page(request: Request, slug: Slug):
    with console(request) as c:
        figures = operator_figures.publication_figures(c.db, c.actor, slug)
        return c.page("publication_figures.html", figures=figures, charts=figure_charts(figures, "pub"))


def edition_charts(db, actor, edition_id: int) -> tuple[dict, dict]:
    figures = operator_figures.edition_figures(db, actor, edition_id)
    return figures, figure_charts(figures, "edition")
