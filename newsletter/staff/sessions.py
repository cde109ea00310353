"""Console sign-in: server-side sessions behind a signed, HttpOnly, SameSite=Strict cookie.

The cookie carries a random token signed with the secret key; the database keeps only
the token's SHA-256, the account, the session's CSRF token and its two limits: an idle
expiry (renewed as the session is used, at most once a minute) and an absolute one.
Logging out deletes the row, so a copied cookie dies with it. Sign-in attempts are
counted per account and per client address before the password is even looked at.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import Forbidden
from newsletter.limits import Counters, person_key
from newsletter.staff import passwords
from newsletter.staff.access import Actor, NotSignedIn, TooManyAttempts
from newsletter.staff.audit import record
from newsletter.staff.models import Role, StaffAccount, StaffSession

log = logging.getLogger(__name__)

COOKIE_NAME = "nl_staff"
TOUCH_EVERY = timedelta(seconds=60)


def login_counters(redis_client=None) -> Counters:
    return Counters(redis_client, prefix="nl:login")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signer(settings: Settings) -> Signer:
    return Signer(settings.signing_key(), salt="staff-session")


@dataclass
class SignedIn:
    account: StaffAccount
    session: StaffSession
    cookie: str  # the value to set in COOKIE_NAME


@dataclass
class Current:
    account: StaffAccount
    session: StaffSession

    def actor(self, via: str, address: str) -> Actor:
        return Actor(Role(self.account.role), self.account.email, via, address, self.account.id)


def login(db: Session, settings: Settings, counters: Counters, email: str, password: str, address: str,
          via: str = "console") -> SignedIn:
    """NotSignedIn for a wrong address or password or a disabled account (one message for
    all three); TooManyAttempts past either limit, whatever the password."""
    email = (email or "").strip().lower()[:320]
    secret = settings.signing_key()
    account_key, client_key = f"acct:{person_key(secret, email)}", f"ip:{address}"
    hit_at = counters.clock()
    per_account = counters.hit(account_key, *settings.login_per_account)
    per_client = counters.hit(client_key, *settings.login_per_client)
    if not (per_account and per_client):
        log.warning("sign-in refused: too many attempts (%s)", "account" if not per_account else "client address")
        raise TooManyAttempts("too many sign-in attempts; wait a few minutes and try again")
    account = db.scalar(select(StaffAccount).where(StaffAccount.email == email)) if email else None
    good = passwords.verify(account.password_hash if account else "", password)
    if not good or account is None or not account.active:
        raise NotSignedIn("wrong address or password")
    # Only failures count: someone signing in from several tabs is never locked out.
    counters.give_back(account_key, settings.login_limit_window_seconds, hit_at)
    counters.give_back(client_key, settings.login_limit_window_seconds, hit_at)
    now = utcnow()
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_hash(token), staff_id=account.id, csrf_token=secrets.token_urlsafe(32),
                       address=address[:64], created_at=now, last_seen_at=now,
                       expires_at=now + timedelta(hours=settings.staff_session_max_hours))
    db.add(row)
    account.last_login_at = now
    db.flush()
    record(db, Actor(Role(account.role), account.email, via, address, account.id), "staff.login",
           f"staff:{account.id}")
    return SignedIn(account, row, _signer(settings).sign(token).decode())


def resolve(db: Session, settings: Settings, cookie: str | None, now: datetime | None = None) -> Current | None:
    """The session a cookie names, if it is still valid; None otherwise (and an expired
    session is deleted on the way)."""
    if not cookie or len(cookie) > 200:
        return None
    try:
        token = _signer(settings).unsign(cookie).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    row = db.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None:
        return None
    now = now or utcnow()
    account = db.get(StaffAccount, row.staff_id)
    idle = timedelta(minutes=settings.staff_session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle or account is None or not account.active:
        db.delete(row)
        db.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.flush()
    return Current(account, row)


def logout(db: Session, settings: Settings, cookie: str | None, address: str = "", via: str = "console") -> bool:
    current = resolve(db, settings, cookie)
    if current is None:
        return False
    record(db, current.actor(via, address), "staff.logout", f"staff:{current.account.id}")
    db.execute(delete(StaffSession).where(StaffSession.id == current.session.id))
    db.flush()
    return True


def csrf_token(current: Current) -> str:
    """What every state-changing form (and X-CSRF-Token header) of this session carries."""
    return current.session.csrf_token


def check_csrf(current: Current, token: str | None) -> None:
    if not token or not hmac.compare_digest(str(token).encode(), current.session.csrf_token.encode()):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")


def cookie_options(settings: Settings) -> dict:
    """For Starlette's Response.set_cookie: HttpOnly, SameSite=Strict, Secure over https."""
    return {"key": COOKIE_NAME, "httponly": True, "samesite": "strict", "path": "/",
            "secure": settings.web_base_url.startswith("https://"),
            "max_age": settings.staff_session_max_hours * 3600}
