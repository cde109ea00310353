"""Remembered browsers: after a second-factor code, a browser may be remembered for
NEWSLETTER_STAFF_DEVICE_DAYS and skip the code (never the password). Its cookie holds a
random token, signed; the database keeps the token's SHA-256, the browser's own name for
itself, and when it was used. The owner sees and revokes them on their account page; a
new password, a new or removed second factor, or a disable forgets every one."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, Signer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import NotFound
from newsletter.lookups import valid_id
from newsletter.staff.access import Actor
from newsletter.staff.audit import record
from newsletter.staff.models import RememberedDevice
from newsletter.text import one_line

COOKIE_NAME = "nl_device"
_signer_cache: dict[str, Signer] = {}


def _signer(secret: str) -> Signer:
    if secret not in _signer_cache:
        _signer_cache[secret] = Signer(secret, salt="staff-device")
    return _signer_cache[secret]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def remember(db: Session, settings: Settings, staff_id: int, label: str) -> str:
    """A new remembered browser; returns the cookie's value."""
    token, now = secrets.token_urlsafe(32), utcnow()
    db.add(RememberedDevice(staff_id=staff_id, token_hash=_hash(token), label=one_line(label or "")[:200],
                            created_at=now, last_used_at=now,
                            expires_at=now + timedelta(days=settings.staff_device_days)))
    db.flush()
    return _signer(settings.signing_key()).sign(token).decode()


def _token(settings: Settings, cookie: str) -> str:
    if not cookie or len(cookie) > 200:
        return ""
    try:
        return _signer(settings.signing_key()).unsign(cookie).decode()
    except (BadSignature, UnicodeDecodeError):
        return ""


def remembered(db: Session, settings: Settings, staff_id: int, cookie: str) -> bool:
    """Whether the cookie names a live remembered browser of this account."""
    token = _token(settings, cookie)
    if not token:
        return False
    row = db.scalar(select(RememberedDevice).where(RememberedDevice.token_hash == _hash(token)))
    now = utcnow()
    if row is None or row.staff_id != staff_id or row.expires_at <= now:
        return False
    row.last_used_at = now
    db.flush()
    return True


def listed(db: Session, staff_id: int) -> list[RememberedDevice]:
    return list(db.scalars(select(RememberedDevice).where(RememberedDevice.staff_id == staff_id,
                                                          RememberedDevice.expires_at > utcnow())
                           .order_by(RememberedDevice.id.desc())))


def revoke(db: Session, actor: Actor, device_id: int) -> None:
    """One's own remembered browser (anyone else's is, to them, none)."""
    row = db.get(RememberedDevice, device_id) if valid_id(device_id) else None
    if row is None or row.staff_id != actor.staff_id:
        raise NotFound(f"no remembered browser {device_id}")
    db.delete(row)
    record(db, actor, "staff.device_revoke", f"staff:{actor.staff_id}", {"device": device_id})


def forget_all(db: Session, staff_id: int) -> None:
    db.execute(delete(RememberedDevice).where(RememberedDevice.staff_id == staff_id))
    db.flush()
