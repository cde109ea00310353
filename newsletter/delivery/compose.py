"""Per-subscriber messages of one edition, from variants rendered once.

A `Composer` holds, per distinct section set, the rendered edition and its
pre-encoded MIME parts. Composing a message for a subscriber is then: sign two
tokens, fold four headers, splice escaped values into the encoded bodies; then,
where the publication says so, one DKIM signature over the final bytes and a VERP
envelope sender naming the delivery.

With VERP, List-Unsubscribe offers a mailto: beside the https URL: the address
unsubscribe+<token>@<bounce domain> (tracking/tokens.py), which the operator routes
to the same intake as bounces (bounces/unsubscribe_mail.py). Every message carries a
Feedback-ID for Gmail's feedback loop: `<edition id>:<publication slug>:edition:<sender
id>` (NEWSLETTER_FEEDBACK_SENDER_ID), the same for every reader of an edition.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.dkim.keys import signer_for
from newsletter.editions.models import Edition, EditionItem
from newsletter.links import Links
from newsletter.publications.models import Publication
from newsletter.render.click_links import ClickLinks
from newsletter.render.edition import PLACEHOLDERS, EditionRenderer, reading_order, variant_key
from newsletter.render.message import MessageTemplate, Unsigned, message_id
from newsletter.render.personal import full_stop
from newsletter.render.quoted_printable import QPBody
from newsletter.subscribers.order import combined
from newsletter.text import one_line
from newsletter.tracking.tokens import Tokens


@dataclass(frozen=True)
class Recipient:
    subscriber_id: int
    email: str
    name: str
    sections: tuple[str, ...] | None  # their choice, in any order; None: every section
    key: int = 0  # the subscriber's link key (tokens)
    delivery_id: int = 0
    # They agreed to a click history (and the publication offers one): their counted
    # links name them (render/click_links.py); everyone else's name nobody.
    clicks_named: bool = False
    order: tuple[str, ...] | None = None  # their own order of sections (subscribers/order.py)
    click_order: tuple[str, ...] | None = None  # their most clicked sections first, if they asked


@dataclass(frozen=True)
class Composed:
    message_id: str
    data: bytes
    envelope_from: str  # MAIL FROM: where the relay sends bounces
    dot_safe: bool = False  # no line starts with a dot: SMTP sends it without stuffing (render/quoted_printable.py)

@dataclass(frozen=True)
class Draft:
    """A message composed but for its signature (Composer.draft, then Composer.finish)."""

    message_id: str
    unsigned: Unsigned
    envelope_from: str
    template: MessageTemplate


@dataclass
class _Variant:
    template: MessageTemplate
    text: QPBody
    html: QPBody


class Composer:
    def __init__(self, settings: Settings, edition: Edition, publication: Publication):
        self.settings = settings
        self.edition = edition
        self.publication = publication
        self.secret = settings.signing_key()
        self.tokens = Tokens(self.secret)
        self.links = Links.from_settings(settings, self.tokens)
        self.signer = signer_for(publication)  # None: not signed; raises when the key is missing
        self.bounce_domain = publication.effective_bounce_domain if publication.verp else ""
        self.feedback_id = feedback_id(settings, edition.id, publication.slug)
        # Counted links and an open pixel only where the publication turned them on.
        self.clicks = ClickLinks(settings.web_base_url, self.tokens, edition.id) if publication.click_stats else None
        pixel = self.clicks.pixel_url() if self.clicks and publication.open_pixel else ""
        self.renderer = EditionRenderer(edition, publication, settings.templates_dir,
                                        self.links.edition(edition.public_id),
                                        self.clicks.href if self.clicks else None, pixel)
        self._variants: dict[tuple[tuple[str, ...] | None, bool], _Variant | None] = {}
        self._keys: dict[tuple, tuple[str, ...] | None] = {}  # (sections, order) -> variant_key

    def variant(self, sections: tuple[str, ...] | None, named: bool = False,
                order: tuple[str, ...] | None = None) -> _Variant | None:
        """None when this section set has no headlines in the edition (nothing to send).
        `named`: the reader has a name (the templates word the greeting around it);
        `order`: the order they read their sections in (None: the edition's)."""
        choice = (sections, order)
        if choice not in self._keys:
            ordered = reading_order(self.edition, sections, order) if sections is not None or order else None
            self._keys[choice] = variant_key(self.edition, ordered)
        key = (self._keys[choice], named)
        if key not in self._variants:
            rendered = self.renderer.render(*key)
            if rendered.headline_count == 0:
                self._variants[key] = None
            else:
                pub = self.publication
                self._variants[key] = _Variant(
                    template=MessageTemplate(
                        sender_name=pub.sender_name, sender_address=pub.sender_address,
                        subject=rendered.subject, reply_to=pub.reply_to, list_id=pub.list_id,
                        signer=self.signer, feedback_id=self.feedback_id),
                    text=QPBody(rendered.text, PLACEHOLDERS),
                    html=QPBody(rendered.html, PLACEHOLDERS, lambda v: html.escape(v, quote=True)),
                )
        return self._variants[key]

    def compose(self, recipient: Recipient, now: datetime) -> Composed | None:
        draft = self.draft(recipient, now)
        return None if draft is None else self.finish(draft)

    def finish(self, draft: Draft) -> Composed:
        """The drafted message signed (where the publication signs): the second step of
        `compose`, made while the relay reads the message before it."""
        data, dot_safe = draft.template.sign(draft.unsigned)
        return Composed(draft.message_id, data, draft.envelope_from, dot_safe)

    def draft(self, recipient: Recipient, now: datetime) -> Draft | None:
        """The first step of `compose`: everything but the signature. None when their
        sections have nothing today."""
        name = one_line(recipient.name)
        variant = self.variant(recipient.sections, bool(name), self.order_for(recipient))
        if variant is None:
            return None
        r, links = recipient, self.links
        unsubscribe_url = links.unsubscribe(r.subscriber_id, r.key, self.publication.id, self.edition.id)
        preferences_url = links.preferences(r.subscriber_id, r.key, self.edition.id)
        values = {"name": name, "unsubscribe_url": unsubscribe_url,
                  "preferences_url": preferences_url, "click_suffix": "",
                  "full_stop": full_stop(name)}
        if self.clicks is not None:
            person = (r.subscriber_id, r.key) if r.clicks_named and self.publication.click_history else (0, 0)
            values["click_suffix"] = self.clicks.suffix(now, *person)
        msg_id = message_id("edition", (self.edition.id, recipient.subscriber_id),
                            self.publication.domain, self.secret)
        mailto = "" if not self.bounce_domain else self.tokens.mailto_unsubscribe_address(
            r.subscriber_id, r.key, self.publication.id, self.edition.id, self.bounce_domain)
        text, text_dot_free = variant.text.render_checked(values)
        html, html_dot_free = variant.html.render_checked(values)
        unsigned = variant.template.render_unsigned(
            to_name=recipient.name, to_address=recipient.email, msg_id=msg_id, date=now, text=text, html=html,
            unsubscribe_url=unsubscribe_url, unsubscribe_mailto=mailto, bodies_dot_free=text_dot_free and html_dot_free)
        return Draft(msg_id, unsigned, self.envelope_from(recipient.delivery_id), variant.template)

    def order_for(self, recipient: Recipient) -> tuple[str, ...] | None:
        """Their most clicked sections first where the publication offers it (and they asked:
        the batch passes click_order only then), else their own order (subscribers/order.py)."""
        return combined(recipient.order, recipient.click_order if self.publication.most_clicked_first else None)

    def envelope_from(self, delivery_id: int) -> str:
        """bounces+<token>@<bounce domain> with VERP (a message without a delivery, such
        as a preview, has no token to carry); the sender address otherwise."""
        if self.bounce_domain and delivery_id:
            return self.tokens.verp_address(delivery_id, self.bounce_domain)
        return self.publication.sender_address


def feedback_id(settings: Settings, edition_id: int, publication_slug: str) -> str:
    """Gmail's a:b:c:SenderId: the edition, the publication, the kind of mail, and our sender
    id; nothing about the reader ("" when the setting is empty)."""
    sender = settings.feedback_sender_id
    return f"{edition_id}:{publication_slug}:edition:{sender}" if sender else ""


def sample_digest(settings: Settings, pub: Publication) -> bytes:
    """A digest of two headlines for a sample recipient, composed and signed like every
    delivery, for `newsletter dkim check` (dkim/check.py). The edition is made up in
    memory: nothing is written."""
    now = utcnow()
    sections = pub.ordered_sections() or []
    slug, name = (sections[0].slug, sections[0].name) if sections else ("news", "NEWS")
    edition = Edition(id=0, public_id="dkim-check", publication_id=pub.id, date=now.date(),
                      window_start=now - timedelta(days=1), window_end=now, status="built")
    edition.items = [
        EditionItem(position=i, section_slug=slug, section_name=name, url=f"https://{pub.domain}/dkim-check/{i}",
                    headline=f"DKIM check headline {i}", teaser="A teaser, as the site writes them.",
                    source="", byline="", dateline="", published_at=now) for i in range(2)]
    composer = Composer(settings, edition, pub)
    composed = composer.compose(Recipient(0, f"dkim-check@{pub.domain}", "DKIM Check", None), now)
    return composed.data
