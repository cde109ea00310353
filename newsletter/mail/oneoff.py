"""One email to one person, outside any edition: the double opt-in confirmation, the
welcome, the address-change notes, an alert to the operators. Rendered by the caller
(render/emails.py:render_email, the path every email takes); built here with the same
policy, From and DKIM signature as the digest, but as a personal message: no Precedence:
bulk, no List-Unsubscribe unless the caller offers one (the welcome does), and no delivery
row (it is never counted as a delivery of an edition). Auto-Submitted is set on every
message the service builds (render/message.py), these included.

Mail to a subscriber or to a sign-up's address goes out with a VERP envelope sender
where the publication uses VERP, like an edition: `personal_envelope` names which email
it was and for which row, so that its bounce is matched (bounces/personal.py). Alerts
to operators keep the sender address."""
from __future__ import annotations

from newsletter.db import utcnow
from newsletter.dkim.keys import signer_for
from newsletter.publications.models import Publication
from newsletter.render.emails import RenderedEmail
from newsletter.render.message import build_message
from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import Backend


def personal_envelope(tokens: Tokens, pub: Publication, kind: PersonalKind, row_id: int, tag: int) -> str:
    """bounces+<token>@<bounce domain> with VERP; the sender address otherwise."""
    if not pub.verp:
        return pub.sender_address
    return tokens.personal_verp_address(kind, row_id, tag, pub.effective_bounce_domain)


def build_one_off(pub: Publication, *, to_name: str, to_address: str, email: RenderedEmail, msg_id: str,
                  list_id: str = "", unsubscribe_url: str = "", unsubscribe_mailto: str = "") -> bytes:
    """The signed message, from the publication's sender address. ConfigurationError for
    a DKIM key that cannot be read (never sends unsigned what should be signed)."""
    return build_message(
        sender_name=pub.sender_name, sender_address=pub.sender_address,
        to_name=to_name, to_address=to_address,
        subject=email.subject, text=email.text, html=email.html,
        msg_id=msg_id, date=utcnow(), reply_to=pub.reply_to, list_id=list_id, bulk=False,
        unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto, signer=signer_for(pub))


def send_built(backend: Backend, pub: Publication, to_address: str, data: bytes, msg_id: str,
               envelope_from: str = "") -> str:
    """Returns the Message-ID. Raises the backend's SendFailure (the caller decides on retries).
    `envelope_from`: MAIL FROM (default: the sender address)."""
    backend.open()
    try:
        backend.send(envelope_from or pub.sender_address, to_address, data, msg_id)
    finally:
        backend.close()
    return msg_id


def send_one_off(backend: Backend, pub: Publication, *, to_name: str, to_address: str, email: RenderedEmail,
                 msg_id: str, list_id: str = "", envelope_from: str = "", unsubscribe_url: str = "",
                 unsubscribe_mailto: str = "") -> str:
    """Built (build_one_off) and sent (send_built); returns the Message-ID."""
    data = build_one_off(pub, to_name=to_name, to_address=to_address, email=email, msg_id=msg_id, list_id=list_id,
                         unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto)
    return send_built(backend, pub, to_address, data, msg_id, envelope_from)
