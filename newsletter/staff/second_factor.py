"""The second factor of staff accounts: a TOTP authenticator (staff/totp.py) set up with
a QR code, and ten single-use recovery codes shown once and stored as Argon2id hashes.

Setting up takes two steps: `start` keeps a new secret pending and shows it; `confirm`
with a first right code turns it on and gives the recovery codes. Codes are checked
after the password, through the back-off of staff/throttle.py (per account, from
anywhere). An admin may require a second factor of every account or of admins
(`set_policy`); an account it applies to is asked to set one up at its next sign-in.
API tokens are not passwords and are left alone by all of this.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import Conflict, InvalidInput
from newsletter.staff import devices, totp
from newsletter.staff.access import Actor, NotSignedIn, Permission, TooManyAttempts
from newsletter.staff.audit import change, record
from newsletter.staff.models import RecoveryCode, Role, StaffAccount, StaffPolicy
from newsletter.staff.throttle import SignInLimits

POLICY = "require_2fa"
POLICIES = ("none", "admins", "all")
RECOVERY_CODES = 10
ISSUER = "Newsletter"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
# Recovery codes carry about 49 random bits: a light Argon2id suffices against a copied
# database, and keeps checking ten of them quick.
_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class WrongCode(NotSignedIn):
    title = "Wrong code"


class CodeWait(TooManyAttempts):
    def __init__(self, retry_after: float):
        super().__init__(f"too many wrong codes; try again in {int(retry_after + 0.999)} second(s)")
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass
class Enrolment:
    secret: str  # to type in by hand
    uri: str  # otpauth://
    svg: str  # the QR code


def enabled(account: StaffAccount) -> bool:
    return account.totp_enabled_at is not None


def policy(db: Session) -> str:
    return db.scalar(select(StaffPolicy.value).where(StaffPolicy.name == POLICY)) or "none"


def set_policy(db: Session, actor: Actor, value: str) -> str:
    with change(db, actor, Permission.STAFF, "staff.policy", "policy:require_2fa") as ch:
        value = (value or "").strip().lower()
        if value not in POLICIES:
            raise InvalidInput(f"require a second factor of none, admins or all, not {value[:20]!r}")
        row = db.get(StaffPolicy, POLICY) or StaffPolicy(name=POLICY)
        ch.detail, ch.nothing_changed = {"from": row.value or "none", "to": value}, row.value == value
        row.value = value
        db.add(row)
        db.flush()
    return value


def required(db: Session, account: StaffAccount) -> bool:
    rule = policy(db)
    return rule == "all" or (rule == "admins" and account.role == Role.ADMIN)


def _show(account: StaffAccount, secret: str) -> Enrolment:
    uri = totp.provisioning_uri(secret, account.email, ISSUER)
    return Enrolment(" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)), uri, totp.qr_svg(uri))


def start(db: Session, settings: Settings, account: StaffAccount) -> Enrolment:
    """A new pending secret (replacing one not confirmed yet)."""
    if enabled(account):
        raise Conflict("a second factor is already set up; turn it off first to set up another")
    secret = totp.new_secret()
    account.totp_secret, account.totp_last_step = totp.seal(settings.signing_key(), secret), 0
    db.flush()
    return _show(account, secret)


def pending(settings: Settings, account: StaffAccount) -> Enrolment | None:
    """The secret being set up, shown again (after a wrong first code)."""
    secret = totp.unseal(settings.signing_key(), account.totp_secret) if account.totp_secret else ""
    return _show(account, secret) if secret and not enabled(account) else None


def confirm(db: Session, settings: Settings, actor: Actor, account: StaffAccount, code: str) -> list[str]:
    """Turns the pending secret on with its first code; returns the recovery codes."""
    secret = totp.unseal(settings.signing_key(), account.totp_secret) if account.totp_secret else ""
    if enabled(account) or not secret:
        raise Conflict("start setting up a second factor first")
    step = totp.step_of(secret, code, 0)
    if step is None:
        raise WrongCode("that code is not right: check the clock of the device, and type the newest code")
    account.totp_enabled_at, account.totp_last_step = utcnow(), step
    codes = new_recovery_codes(db, account)
    devices.forget_all(db, account.id)
    record(db, actor, "staff.2fa_enable", f"staff:{account.id}")
    return codes


def new_recovery_codes(db: Session, account: StaffAccount) -> list[str]:
    """Ten new codes (the old ones stop working); shown once, kept hashed."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == account.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(staff_id=account.id, code_hash=_hasher.hash(raw)))
    db.flush()
    return codes


def remaining(db: Session, staff_id: int) -> int:
    return db.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None)))


def _recovery(db: Session, account: StaffAccount, code: str) -> bool:
    raw = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(raw) != 10 or not raw.isascii():
        return False
    for row in db.scalars(select(RecoveryCode).where(RecoveryCode.staff_id == account.id,
                                                     RecoveryCode.used_at.is_(None))):
        try:
            if _hasher.verify(row.code_hash, raw):
                row.used_at = utcnow()
                db.flush()
                return True
        except (VerificationError, InvalidHashError):
            continue
    return False


def check(db: Session, settings: Settings, limits: SignInLimits, account: StaffAccount, code: str) -> str:
    """"totp" or "recovery" for a right code (each works once); WrongCode, or CodeWait
    while the back-off runs."""
    wait = limits.code_attempt(account.id)
    if wait:
        raise CodeWait(wait)
    code = (code or "").strip()[:40]
    secret = totp.unseal(settings.signing_key(), account.totp_secret)
    step = totp.step_of(secret, code, account.totp_last_step) if secret else None
    if step is not None:
        account.totp_last_step = step
        how = "totp"
    elif _recovery(db, account, code):
        how = "recovery"
    else:
        raise WrongCode("that code is not right (or was used already)")
    limits.code_succeeded(account.id)
    db.flush()
    return how


def turn_off(db: Session, actor: Actor, account: StaffAccount) -> None:
    """By the account itself (the caller checked its password) or by an admin (a lost
    device): the secret, the recovery codes and the remembered browsers go."""
    if actor.staff_id != account.id:
        with change(db, actor, Permission.STAFF, "staff.2fa_reset", f"staff:{account.id}") as ch:
            ch.nothing_changed = not account.totp_secret  # none to remove: nothing to record
            _clear(db, account)
        return
    _clear(db, account)
    record(db, actor, "staff.2fa_disable", f"staff:{account.id}")


def _clear(db: Session, account: StaffAccount) -> None:
    account.totp_secret, account.totp_enabled_at, account.totp_last_step = "", None, 0
    db.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == account.id))
    devices.forget_all(db, account.id)
    db.flush()
