"""API tokens: `Authorization: Bearer nlt_...`. Shown once when created, stored as a
SHA-256, revocable, with the time of last use (written at most once a minute). A token's
role is at most its account's, and holds for the account's publications; if the account
is later given a lower role or fewer publications, the token follows. A new password or
a disable revokes the account's tokens (accounts.py). Tokens are not passwords: no
second factor applies to them."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import Forbidden, InvalidInput
from newsletter.lookups import get_or_404
from newsletter.staff.access import Actor, Permission, at_most, lower_of, parse_role, require
from newsletter.staff.accounts import find
from newsletter.staff.audit import change
from newsletter.staff.models import ApiToken, Role, StaffAccount
from newsletter.staff.scope import publications_of
from newsletter.text import clean_field

PREFIX = "nlt_"
TOUCH_EVERY = timedelta(seconds=60)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def as_dict(t: ApiToken) -> dict:
    return {"id": t.id, "staff_id": t.staff_id, "name": t.name, "role": t.role, "prefix": t.prefix,
            "created_at": t.created_at.isoformat(),
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}


def _owner(session: Session, actor: Actor, account: str | int | None) -> StaffAccount:
    """The account a token belongs to: one's own, or (admins) anyone's."""
    if account is None:
        if actor.staff_id is None:
            raise InvalidInput("name the staff account the token is for")
        return session.get(StaffAccount, actor.staff_id)
    owner = find(session, account)
    if owner.id != actor.staff_id:
        require(actor, Permission.STAFF)
    return owner


def create(session: Session, actor: Actor, name: str, role: str | None = None,
           account: str | int | None = None) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is never shown again."""
    owner = _owner(session, actor, account)
    with change(session, actor, Permission.OWN_TOKENS, "token.create") as ch:
        # Without a role: the highest this caller may give (a viewer token of an operator
        # makes viewer tokens).
        wanted = parse_role(role) if role else lower_of(Role(owner.role), actor.role)
        if not at_most(wanted, owner.role) or not at_most(wanted, actor.role):
            raise Forbidden(f"a token's role is at most its account's ({owner.role}) and yours ({actor.role})")
        if not owner.active:
            raise InvalidInput(f"{owner.email} is disabled")
        raw = PREFIX + secrets.token_urlsafe(32)
        label = clean_field(name, "token name", 100)
        if not label.strip():
            raise InvalidInput("a token needs a name (what uses it: 'billing export', 'monitoring')")
        token = ApiToken(staff_id=owner.id, name=label.strip(), role=wanted,
                         token_hash=_hash(raw), prefix=raw[:10], created_at=utcnow())
        session.add(token)
        session.flush()
        ch.target, ch.detail = f"token:{token.id}", {"staff_id": owner.id, "role": wanted, "name": token.name}
    return token, raw


def tokens(session: Session, actor: Actor, account: str | int | None = None) -> list[ApiToken]:
    """One's own tokens; an admin may name any account, or pass "*" for all."""
    require(actor, Permission.OWN_TOKENS)
    q = select(ApiToken).order_by(ApiToken.id)
    if account == "*":
        require(actor, Permission.STAFF)
        return list(session.scalars(q))
    return list(session.scalars(q.where(ApiToken.staff_id == _owner(session, actor, account).id)))


def revoke(session: Session, actor: Actor, token_id: int) -> ApiToken:
    token = get_or_404(session, ApiToken, token_id, "API token")
    if token.staff_id != actor.staff_id:
        require(actor, Permission.STAFF)
    with change(session, actor, Permission.OWN_TOKENS, "token.revoke", f"token:{token.id}"):
        token.revoked_at = token.revoked_at or utcnow()
        session.flush()
    return token


def authenticate(session: Session, raw: str, address: str) -> Actor | None:
    """The actor a bearer token acts as; None for an unknown, revoked or disabled one."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(raw)))
    if token is None or token.revoked_at is not None:
        return None
    account = session.get(StaffAccount, token.staff_id)
    if account is None or not account.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        session.flush()
    return Actor(lower_of(token.role, account.role), account.email, "api", address, account.id, token.id,
                 publications_of(session, account.id))
