"""Console sign-in: server-side sessions behind a signed, HttpOnly, SameSite=Strict cookie.

The cookie carries a random token signed with the secret key; the database keeps only
the token's SHA-256, the account, the session's CSRF token, its stage and its two limits:
an idle expiry (renewed as the session is used, at most once a minute) and an absolute
one. Logging out deletes the row, so a copied cookie dies with it.

Signing in is a password, then (for an account with a second factor, staff/second_factor.py)
a code: the right password opens a session at the stage "code", good for nothing but the
code's page for a few minutes; the code (or a remembered browser, staff/devices.py) makes
a new session in its place, with a new token. An account the policy requires a second
factor of, without one, gets the stage "enrol" instead. Attempts go through the back-off
of staff/throttle.py before the password is even looked at.
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
from newsletter.limits import person_key
from newsletter.staff import devices, passwords, second_factor
from newsletter.staff.access import Actor, NotSignedIn, TooManyAttempts
from newsletter.staff.audit import record
from newsletter.staff.models import Role, StaffAccount, StaffSession
from newsletter.staff.scope import publications_of
from newsletter.staff.throttle import SignInLimits, Store

log = logging.getLogger(__name__)

COOKIE_NAME = "nl_staff"
TOUCH_EVERY = timedelta(seconds=60)
SIGNED_IN, CODE, ENROL = "", "code", "enrol"


def login_limits(settings: Settings, redis_client=None) -> SignInLimits:
    return SignInLimits(Store(redis_client, prefix="nl:signin"), settings)


class SignInFailed(NotSignedIn):
    """A wrong address or password. `alert_staff_id`: this failure made the account cross
    its threshold of failures from everywhere: the route tells the owner (after answering)."""

    def __init__(self, message: str, alert_staff_id: int | None = None, staff_id: int | None = None,
                 why: str = ""):
        super().__init__(message)
        self.alert_staff_id = alert_staff_id
        self.staff_id, self.why = staff_id, why  # for the audit (staff/failed_sign_ins.py), never shown


class WaitBeforeTrying(TooManyAttempts):
    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signer(settings: Settings) -> Signer:
    return Signer(settings.signing_key(), salt="staff-session")


def account_key(settings: Settings, email: str) -> str:
    return person_key(settings.signing_key(), (email or "").strip().lower()[:320])


@dataclass
class SignedIn:
    account: StaffAccount
    session: StaffSession
    cookie: str  # the value to set in COOKIE_NAME

    @property
    def stage(self) -> str:
        return self.session.stage


@dataclass
class Current:
    account: StaffAccount
    session: StaffSession
    publications: frozenset[int] | None = None  # the role's publications (None: every one)

    def actor(self, via: str, address: str) -> Actor:
        return Actor(Role(self.account.role), self.account.email, via, address, self.account.id,
                     publications=self.publications)


def _wait_message(seconds: float) -> str:
    return (f"too many failed sign-ins; try again in {int(seconds + 0.999)} second(s)" if seconds < 120 else
            f"too many failed sign-ins; try again in {int(seconds // 60) + 1} minutes")


def login(db: Session, settings: Settings, limits: SignInLimits, email: str, password: str, address: str,
          device_cookie: str = "", via: str = "console") -> SignedIn:
    """SignInFailed for a wrong address or password, a disabled or SSO-only account (one
    message for all); WaitBeforeTrying while a back-off runs, whatever the password. The
    session returned is signed in, or waits for a code or an enrolment (its `stage`)."""
    email = (email or "").strip().lower()[:320]
    key = account_key(settings, email)
    verdict = limits.attempt(key, address, limits.known(key, address))
    if verdict.wait:
        log.warning("sign-in refused: back-off (%ds)", int(verdict.wait))
        raise WaitBeforeTrying(_wait_message(verdict.wait), verdict.wait)
    account = db.scalar(select(StaffAccount).where(StaffAccount.email == email)) if email else None
    good = passwords.verify(account.password_hash if account else "", password)
    if not good or account is None or not account.active or account.sso_only:
        alert = account.id if verdict.alert and account is not None and account.active else None
        why = ("no such account" if account is None else "wrong password" if not good
               else "account disabled" if not account.active else "single sign-on only")
        raise SignInFailed("wrong address or password", alert, account.id if account else None, why)
    limits.succeeded(key, address)
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    if second_factor.enabled(account):
        if devices.remembered(db, settings, account.id, device_cookie):
            return complete(db, settings, account, address, via, "device")
        return open_session(db, settings, account, address, CODE)
    if second_factor.required(db, account):
        return open_session(db, settings, account, address, ENROL)
    return complete(db, settings, account, address, via, "password")


def open_session(db: Session, settings: Settings, account: StaffAccount, address: str,
                 stage: str = SIGNED_IN) -> SignedIn:
    now, token = utcnow(), secrets.token_urlsafe(32)
    lasts = (timedelta(hours=settings.staff_session_max_hours) if stage == SIGNED_IN
             else timedelta(minutes=settings.staff_second_factor_minutes))
    row = StaffSession(token_hash=_hash(token), staff_id=account.id, csrf_token=secrets.token_urlsafe(32),
                       address=address[:64], stage=stage, created_at=now, last_seen_at=now, expires_at=now + lasts)
    db.add(row)
    db.flush()
    return SignedIn(account, row, _signer(settings).sign(token).decode())


def complete(db: Session, settings: Settings, account: StaffAccount, address: str, via: str, how: str,
             pending: StaffSession | None = None) -> SignedIn:
    """Signed in: a new session (a pending one it replaces is deleted), audited."""
    if pending is not None:
        db.execute(delete(StaffSession).where(StaffSession.id == pending.id))
    signed = open_session(db, settings, account, address)
    account.last_login_at = signed.session.created_at
    record(db, Actor(Role(account.role), account.email, via, address, account.id), "staff.login",
           f"staff:{account.id}", {"by": how})
    return signed


def resolve(db: Session, settings: Settings, cookie: str | None, now: datetime | None = None,
            stage: str = SIGNED_IN) -> Current | None:
    """The session a cookie names, if it is still valid and at this stage; None otherwise
    (and an expired session is deleted on the way)."""
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
    if row.stage != stage:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.flush()
    return Current(account, row, publications_of(db, account.id))


def logout(db: Session, settings: Settings, cookie: str | None, address: str = "", via: str = "console") -> bool:
    current = resolve(db, settings, cookie)
    if current is None:
        return False
    record(db, current.actor(via, address), "staff.logout", f"staff:{current.account.id}")
    db.execute(delete(StaffSession).where(StaffSession.id == current.session.id))
    db.flush()
    return True


def end_all(db: Session, staff_id: int) -> None:
    """Every session of the account, pending ones included (a password change, a disable)."""
    db.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    db.flush()


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
