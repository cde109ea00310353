"""The List-Unsubscribe token's side: resolve a link to its subscriber and act on it.

The state changes themselves are subscribers/lifecycle.py's; this module only reads
the token (its subscriber must exist and hold the token's key) and records where the
click came from (the edition).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber
from newsletter.tracking.models import Method
from newsletter.tracking.tokens import GONE, InvalidToken, Tokens, UnsubscribeClaim, check_key


@dataclass
class Outcome:
    subscriber: Subscriber
    publication: Publication
    changed: bool  # False when the subscriber was already in the asked-for state
    edition_id: int | None = None


def resolve(session: Session, claim: UnsubscribeClaim) -> tuple[Subscriber, Publication]:
    subscriber = session.get(Subscriber, claim.subscriber_id)
    check_key(subscriber, claim.key)
    publication = session.get(Publication, claim.publication_id)
    if publication is None:
        raise InvalidToken(GONE)
    return subscriber, publication


def unsubscribe_with_token(session: Session, tokens: Tokens, token: str, method: Method) -> Outcome:
    """What the List-Unsubscribe URL does. Repeating it changes nothing and records nothing."""
    claim = tokens.read_unsubscribe(token)
    subscriber, publication = resolve(session, claim)
    changed = lifecycle.unsubscribe(session, subscriber, publication, method, claim.edition_id)
    return Outcome(subscriber, publication, changed, claim.edition_id)
