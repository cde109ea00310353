"""View in browser: the edition as sent, without personal data unless the link's token is there."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from newsletter.delivery.compose import view_url, web_links
from newsletter.editions.models import EMPTY, Edition
from newsletter.publications.models import Publication
from newsletter.render.edition import EditionRenderer, Personal, greeting_for, personalise
from newsletter.subscribers.models import Subscription
from newsletter.tracking.unsubscribe import resolve
from newsletter.web.pages import SECURITY_HEADERS, ctx

router = APIRouter()


@router.get("/editions/{edition_id}")
def edition_page(request: Request, edition_id: int, t: str = ""):
    w = ctx(request)
    with w.session() as s:
        edition = s.get(Edition, edition_id)
        if edition is None or edition.status == EMPTY:
            return w.page("error.html", status=404, title="No such edition",
                          message="This edition does not exist or had no headlines.")
        pub = s.get(Publication, edition.publication_id)
        sections = None
        base = w.settings.web_base_url.rstrip("/")
        personal = Personal(greeting="Good morning. Here are today's headlines.",
                            unsubscribe_url=f"{base}/subscribe?publication={pub.slug}",
                            preferences_url=f"{base}/subscribe?publication={pub.slug}")
        if t:
            claim = w.tokens.read_unsubscribe(t)
            subscriber, claimed_pub = resolve(s, claim)
            if claimed_pub.id == pub.id:
                sub = s.query(Subscription).filter_by(subscriber_id=subscriber.id, publication_id=pub.id).first()
                sections = frozenset(sub.sections) if sub and sub.sections else None
                unsub, prefs = web_links(w.settings, w.tokens, subscriber.id, pub.id, edition.id)
                personal = Personal(greeting_for(subscriber.name), unsub, prefs)
        renderer = EditionRenderer(edition, pub, w.settings.templates_dir, view_url(w.settings, edition.id))
        html, _ = personalise(renderer.render(sections), personal)
    return HTMLResponse(html, headers=SECURITY_HEADERS)

