"""`newsletter stats --json`: the numbers of the console's charts and of the API's
/stats/publications/<slug> and /stats/editions/<id>/readers, as one JSON document
(reports/reader_figures.py computes them all)."""
from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import select

from newsletter.cli.common import session_scope
from newsletter.operators import figures as operator_figures
from newsletter.publications.models import Publication
from newsletter.reports.stats import daily_stats, edition_stats
from newsletter.staff.access import cli_actor


def stats_document(publication: str = "", limit: int = 30, edition: int = 0) -> dict:
    """One edition's figures (`edition`), or per publication (one, or every one) the last
    `limit` editions per day and per section, with the per-edition summary of `stats`."""
    with session_scope() as session:
        actor = cli_actor()
        if edition:
            return operator_figures.edition_figures(session, actor, edition)
        slugs = [publication] if publication else list(session.scalars(select(Publication.slug)
                                                                        .order_by(Publication.slug)))
        rows = edition_stats(session, publication or None, limit)
        return {
            "editions": [{**asdict(r), "unsubscribe_rate": round(r.rate, 5),
                          "complaint_rate": round(r.complaint_rate, 5)} for r in rows],
            "days": [{**asdict(d), "complaint_rate": round(d.complaint_rate, 5)} for d in daily_stats(session, rows)],
            "publications": [operator_figures.publication_figures(session, actor, slug, limit) for slug in slugs],
        }


def print_json(document: dict) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))
