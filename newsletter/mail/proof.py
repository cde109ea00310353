"""A proof: one test copy of an edition, as a reader would get it, sent to an operator.

The message is the real one (same templates, same headers, DKIM-signed when the
publication signs), marked as a test twice: "[TEST] " before the subject and an
`X-Newsletter-Test` header field. It goes through the configured backend (outbox or
relay) but is not a delivery: no row is written, nothing is counted, and its links are
inert (render/preview.py). It is never sent to an address that is suppressed (for this
publication or for all) or to a subscriber an admin disabled.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.dkim.keys import signer_for
from newsletter.editions.preview import Preview
from newsletter.errors import Conflict, Unavailable
from newsletter.links import check_sendable
from newsletter.publications.models import Publication
from newsletter.render.message import MessageTemplate, fold, message_id
from newsletter.render.preview import render_preview
from newsletter.render.quoted_printable import qp_body
from newsletter.subscribers.lifecycle import suppressions
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.transport.backends import Backend
from newsletter.transport.failures import SendFailure

log = logging.getLogger(__name__)

SUBJECT_MARK = "[TEST] "
HEADER = "X-Newsletter-Test"


@dataclass(frozen=True)
class Proof:
    to: str
    subject: str
    message_id: str
    headline_count: int


def check_recipient(session: Session, publication: Publication, address: str, secret: str | None = None) -> str:
    """The normalised address, or Conflict when it must not be mailed (with the secret
    key, an erased address too: it is suppressed by its keyed hash only)."""
    email = normalise_email(address)
    found = suppressions(session, email, publication.id, secret)
    if found:
        raise Conflict(f"{email} is suppressed ({found[0].reason}): no test message is sent to it")
    status = session.scalar(select(Subscriber.status).where(Subscriber.email == email))
    if status is not None and status != SubscriberStatus.ACTIVE:
        raise Conflict(f"{email} is {status} by an admin: no test message is sent to it")
    return email


def compose_proof(settings: Settings, preview: Preview, publication: Publication, to: str,
                  now: datetime) -> tuple[Proof, bytes]:
    rendered = render_preview(settings, preview, publication)
    if rendered.headline_count == 0:
        raise Conflict(f"nothing to send: the {publication.slug} edition of {preview.edition.date} has no "
                       f"headlines for {preview.reader.label}")
    secret = settings.signing_key()
    subject = SUBJECT_MARK + rendered.subject
    template = MessageTemplate(sender_name=publication.sender_name, sender_address=publication.sender_address,
                               subject=subject, reply_to=publication.reply_to, list_id=publication.list_id,
                               signer=signer_for(publication))
    msg_id = message_id("test", (publication.id, preview.edition.date.isoformat(), uuid.uuid4().hex[:12]),
                        publication.domain, secret)
    data = template.render(to_name="", to_address=to, msg_id=msg_id, date=now, text=qp_body(rendered.text),
                           html=qp_body(rendered.html), unsubscribe_url=rendered.personal.unsubscribe_url)
    what = "stored edition" if preview.stored else "not built yet"
    mark = fold(HEADER, f"edition of {preview.edition.date} ({what}), as {preview.reader.label}; not a delivery")
    return Proof(to, subject, msg_id, rendered.headline_count), mark + data


def send_proof(session: Session, settings: Settings, backend: Backend, preview: Preview,
               publication: Publication, to: str, now: datetime | None = None) -> Proof:
    """Send one test copy of `preview` to `to` through `backend`; writes nothing."""
    address = check_recipient(session, publication, to, settings.signing_key())  # bad input first: a 4xx
    check_sendable(settings)
    proof, data = compose_proof(settings, preview, publication, address, now or utcnow())
    try:
        backend.open()
        backend.send(publication.sender_address, address, data, proof.message_id)
    except SendFailure as exc:
        raise Unavailable(f"the test message to {address} was not sent: {exc}") from None
    finally:
        backend.close()
    log.info("test message of %s for %s sent to %s", publication.slug, preview.edition.date, address)
    return proof
