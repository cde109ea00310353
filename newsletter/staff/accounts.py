"""Staff accounts: add, list, disable, enable, change role, and passwords (set by an
admin's one-time link, or changed by the account itself)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import Conflict, Forbidden, NotFound
from newsletter.staff import passwords
from newsletter.staff.access import Actor, NotSignedIn, Permission, parse_role, require
from newsletter.staff.audit import change, record
from newsletter.staff.models import Role, StaffAccount, StaffSession
from newsletter.subscribers.service import normalise_email
from newsletter.tracking.tokens import InvalidToken


@dataclass
class NewAccount:
    account: StaffAccount
    link_token: str  # for the one-time set-password link; "" when a password was given


def find(session: Session, ref: str | int, actor: Actor | None = None) -> StaffAccount:
    """By id or by address; with an actor, only for an admin (refused before any lookup)."""
    if actor is not None:
        require(actor, Permission.STAFF)
    if isinstance(ref, int) or str(ref).isdigit():
        account = session.get(StaffAccount, int(ref)) if int(ref) < 2**31 else None
    else:
        account = session.scalar(select(StaffAccount).where(StaffAccount.email == str(ref).strip().lower()))
    if account is None:
        raise NotFound(f"no staff account {ref}")
    return account


def as_dict(a: StaffAccount) -> dict:
    return {"id": a.id, "email": a.email, "role": a.role, "active": a.active, "created_at": a.created_at.isoformat(),
            "password_set": bool(a.password_hash),
            "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None}


def accounts(session: Session, actor: Actor) -> list[StaffAccount]:
    require(actor, Permission.STAFF)
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.id)))


def add(session: Session, actor: Actor, secret: str, email: str, role: str, password: str | None = None) -> NewAccount:
    with change(session, actor, Permission.STAFF, "staff.add") as ch:
        email, role = normalise_email(email), parse_role(role)
        if session.scalar(select(StaffAccount.id).where(StaffAccount.email == email)) is not None:
            raise Conflict(f"there is already a staff account for {email}")
        account = StaffAccount(email=email, role=role, active=True, created_at=utcnow())
        if password:
            passwords.check_strength(password, email)
            account.password_hash, account.password_changed_at = passwords.hash_password(password), utcnow()
        else:
            account.password_nonce = passwords.new_nonce()
        session.add(account)
        session.flush()
        ch.target, ch.detail = f"staff:{account.id}", {"email": email, "role": role,
                                                        "password": "set" if password else "link"}
    token = "" if password else passwords.link_token(secret, account.id, account.password_nonce)
    return NewAccount(account, token)


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffAccount).where(
        StaffAccount.active.is_(True), StaffAccount.role == Role.ADMIN))


def _keep_an_admin(session: Session, account: StaffAccount) -> None:
    if account.active and account.role == Role.ADMIN and _active_admins(session) <= 1:
        raise Conflict(f"{account.email} is the last active admin; make another admin first")


def disable(session: Session, actor: Actor, ref: str | int) -> StaffAccount:
    """No more sign-ins or API calls; their sessions end now (their tokens are refused)."""
    account = find(session, ref, actor)
    with change(session, actor, Permission.STAFF, "staff.disable", f"staff:{account.id}"):
        _keep_an_admin(session, account)
        account.active = False
        session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
        session.flush()
    return account


def enable(session: Session, actor: Actor, ref: str | int) -> StaffAccount:
    account = find(session, ref, actor)
    with change(session, actor, Permission.STAFF, "staff.enable", f"staff:{account.id}"):
        account.active = True
        session.flush()
    return account


def set_role(session: Session, actor: Actor, ref: str | int, role: str) -> StaffAccount:
    """API tokens keep their role but never act above the account's current one."""
    account, role = find(session, ref, actor), parse_role(role)
    with change(session, actor, Permission.STAFF, "staff.role", f"staff:{account.id}") as ch:
        if role != Role.ADMIN:
            _keep_an_admin(session, account)
        ch.detail = {"from": account.role, "to": role}
        account.role = role
        session.flush()
    return account


def reset_link(session: Session, actor: Actor, secret: str, ref: str | int) -> str:
    """A new one-time set-password link (the old password keeps working until it is used)."""
    account = find(session, ref, actor)
    with change(session, actor, Permission.STAFF, "staff.password_link", f"staff:{account.id}"):
        account.password_nonce = passwords.new_nonce()
        session.flush()
    return passwords.link_token(secret, account.id, account.password_nonce)


def set_password_with_link(session: Session, secret: str, token: str, password: str, via: str = "console",
                           address: str = "") -> StaffAccount:
    """The link is the credential: it works once, and every session of the account ends."""
    staff_id, nonce = passwords.read_link_token(secret, token)
    account = session.get(StaffAccount, staff_id)
    if account is None or not account.active or not account.password_nonce or account.password_nonce != nonce:
        raise InvalidToken("this link was already used, replaced by a newer one, or its account is disabled")
    passwords.check_strength(password, account.email)
    _store(session, account, password)
    record(session, Actor(Role(account.role), account.email, via, address, account.id), "staff.password_set",
           f"staff:{account.id}", {"by": "link"})
    return account


def change_own_password(session: Session, actor: Actor, current: str, new: str) -> None:
    if actor.staff_id is None:
        raise Forbidden("only a staff account has a password; use `newsletter staff reset-password`")
    account = session.get(StaffAccount, actor.staff_id)
    if account is None or not passwords.verify(account.password_hash, current):
        raise NotSignedIn("the current password is not right")
    passwords.check_strength(new, account.email)
    _store(session, account, new)
    record(session, actor, "staff.password_set", f"staff:{account.id}", {"by": "self"})


def _store(session: Session, account: StaffAccount, password: str) -> None:
    account.password_hash, account.password_changed_at = passwords.hash_password(password), utcnow()
    account.password_nonce = 0
    session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
    session.flush()
