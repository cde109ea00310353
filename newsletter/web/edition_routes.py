"""View in browser: the edition as sent, without personal data unless the link's token is there.

Editions are at their random public id, and only editions that reached at least one
reader are shown: built, held, cancelled-before-sending or future editions do not
exist here, whatever address is tried.
"""
from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from newsletter.delivery import tallies
from newsletter.editions.models import Edition
from newsletter.http_common import ctx
from newsletter.publications.models import Publication
from newsletter.render.edition import EditionRenderer, Personal, personalise, reading_order
from newsletter.subscribers import lifecycle
from newsletter.subscribers.order import combined, sender_orders
from newsletter.subscribers.unsubscribe import resolve
from newsletter.text import one_line
from newsletter.web.middleware import IMAGES_POLICY

router = APIRouter()


def published_edition(session, public_id: str) -> Edition | None:
    return session.scalar(select(Edition).where(Edition.public_id == public_id, tallies.was_sent(Edition.id)))


@router.get("/editions/{public_id}")
def edition_page(request: Request, public_id: str = Path(max_length=32), t: str = ""):
    w = ctx(request)
    with w.session() as s:
        edition = published_edition(s, public_id)
        if edition is None:
            return w.page("error.html", status=404, title="No such edition",
                          message="This edition does not exist or was not sent.")
        pub = s.get(Publication, edition.publication_id)
        sections = None
        signup = w.links.signup(pub.slug)
        personal = Personal(name="", unsubscribe_url=signup, preferences_url=signup)
        if t:
            claim = w.tokens.read_unsubscribe(t)
            subscriber, claimed_pub = resolve(s, claim)
            if claimed_pub.id == pub.id:
                sub = lifecycle.subscription(s, subscriber.id, pub.id)
                if sub is not None:  # their sections, in the order their email follows (subscribers/order.py)
                    own, clicks = sender_orders(sub.section_order, sub.click_order, sub.most_clicked_first,
                                                sub.click_history_since)
                    order = combined(own, clicks if pub.most_clicked_first else None)
                    if sub.sections or order:
                        sections = reading_order(edition, sub.sections or None, order)
                key = subscriber.token_key
                personal = Personal(one_line(subscriber.name),
                                    w.links.unsubscribe(subscriber.id, key, pub.id, edition.id),
                                    w.links.preferences(subscriber.id, key, edition.id))
        renderer = EditionRenderer(edition, pub, w.settings.templates_dir, w.links.edition(edition.public_id))
        html, _ = personalise(renderer.render(sections, bool(personal.name)), personal)
    return HTMLResponse(html, headers={"Content-Security-Policy": IMAGES_POLICY})  # the logo, a lead image
