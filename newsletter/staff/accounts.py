"""Staff accounts: add, list, disable, enable, change role and publications, and passwords
(set by an admin's one-time link, or changed by the account itself).

A new password or a disable ends every session of the account, revokes its API tokens
and forgets its remembered browsers: whoever held any of them must come back through the
front door (the audit entry says how many tokens were revoked)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.db import utcnow
from newsletter.errors import Conflict, Forbidden, InvalidInput, NotFound
from newsletter.lookups import valid_id
from newsletter.publications.models import Publication
from newsletter.staff import devices, passwords
from newsletter.staff.access import Actor, NotSignedIn, Permission, parse_role, require
from newsletter.staff.audit import change, record
from newsletter.staff.models import ApiToken, Role, StaffAccount, StaffPublication, StaffSession
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
        account = session.get(StaffAccount, int(ref)) if valid_id(int(ref)) else None
    else:
        account = session.scalar(select(StaffAccount).where(StaffAccount.email == str(ref).strip().lower()))
    if account is None:
        raise NotFound(f"no staff account {ref}")
    return account


def as_dict(a: StaffAccount, publications: list[str] | None = None) -> dict:
    """`publications`: the slugs the role is limited to (None: every publication); see
    publication_slugs."""
    return {"id": a.id, "email": a.email, "role": a.role, "active": a.active, "created_at": a.created_at.isoformat(),
            "publications": publications, "password_set": bool(a.password_hash), "sso_only": a.sso_only,
            "sso": bool(a.sso_subject), "second_factor": a.totp_enabled_at is not None,
            "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None}


def publication_slugs(session: Session, staff_id: int) -> list[str] | None:
    slugs = list(session.scalars(select(Publication.slug).join(StaffPublication,
                                                               StaffPublication.publication_id == Publication.id)
                                 .where(StaffPublication.staff_id == staff_id).order_by(Publication.slug)))
    return slugs or None


def describe(session: Session, a: StaffAccount) -> dict:
    return as_dict(a, publication_slugs(session, a.id))


def set_publications(session: Session, actor: Actor, ref: str | int, slugs: list[str] | None) -> StaffAccount:
    """The role holds for these publications only; None or an empty list: every one."""
    account = find(session, ref, actor)
    with change(session, actor, Permission.STAFF, "staff.publications", f"staff:{account.id}") as ch:
        wanted = sorted({str(x).strip() for x in slugs or [] if str(x).strip()})
        found = dict(session.execute(select(Publication.slug, Publication.id)
                                     .where(Publication.slug.in_(wanted))).all())
        unknown = [x for x in wanted if x not in found]
        if unknown:
            raise InvalidInput(f"no publication {unknown[0][:64]!r}")
        if wanted and account.role == Role.ADMIN:
            _keep_an_admin(session, account)  # an admin for every publication stays
        before = publication_slugs(session, account.id)
        session.execute(delete(StaffPublication).where(StaffPublication.staff_id == account.id))
        session.add_all(StaffPublication(staff_id=account.id, publication_id=found[x]) for x in wanted)
        ch.detail = {"from": before, "to": wanted or None}
        ch.nothing_changed = (before or []) == wanted
        session.flush()
    return account


def accounts(session: Session, actor: Actor) -> list[StaffAccount]:
    require(actor, Permission.STAFF)
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.id)))


def add(session: Session, actor: Actor, secret: str, email: str, role: str, password: str | None = None,
        sso_only: bool = False) -> NewAccount:
    """With a password, or a one-time link to set one; an SSO-only account has neither."""
    with change(session, actor, Permission.STAFF, "staff.add") as ch:
        email, role = normalise_email(email), parse_role(role)
        if session.scalar(select(StaffAccount.id).where(StaffAccount.email == email)) is not None:
            raise Conflict(f"there is already a staff account for {email}")
        account = StaffAccount(email=email, role=role, active=True, created_at=utcnow(), sso_only=sso_only)
        if sso_only:
            password = None
        elif password:
            passwords.check_strength(password, email)
            account.password_hash, account.password_changed_at = passwords.hash_password(password), utcnow()
        else:
            account.password_nonce = passwords.new_nonce()
        session.add(account)
        session.flush()
        how = "sso" if sso_only else "set" if password else "link"
        ch.target, ch.detail = f"staff:{account.id}", {"email": email, "role": role, "password": how}
    token = "" if password or sso_only else passwords.link_token(secret, account.id, account.password_nonce)
    return NewAccount(account, token)


def _active_admins(session: Session) -> int:
    """Active admins for every publication (no rows in staff_publications)."""
    limited = select(StaffPublication.staff_id).distinct()
    return session.scalar(select(func.count()).select_from(StaffAccount).where(
        StaffAccount.active.is_(True), StaffAccount.role == Role.ADMIN, StaffAccount.id.not_in(limited)))


def _keep_an_admin(session: Session, account: StaffAccount) -> None:
    everywhere = session.scalar(select(StaffPublication.staff_id).where(
        StaffPublication.staff_id == account.id).limit(1)) is None
    if account.active and account.role == Role.ADMIN and everywhere and _active_admins(session) <= 1:
        raise Conflict(f"{account.email} is the last active admin for every publication; make another admin first")


def revoke_everything(session: Session, staff_id: int) -> int:
    """Sessions end, API tokens are revoked, remembered browsers forgotten; the number of
    tokens revoked."""
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    revoked = session.execute(update(ApiToken).where(ApiToken.staff_id == staff_id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=utcnow())).rowcount
    devices.forget_all(session, staff_id)
    session.flush()
    return revoked


def disable(session: Session, actor: Actor, ref: str | int) -> StaffAccount:
    """No more sign-ins or API calls: their sessions end now and their tokens are revoked
    (enabling the account again does not bring them back)."""
    account = find(session, ref, actor)
    with change(session, actor, Permission.STAFF, "staff.disable", f"staff:{account.id}") as ch:
        _keep_an_admin(session, account)
        account.active = False
        ch.detail = {"tokens_revoked": revoke_everything(session, account.id)}
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
    revoked = _store(session, account, password)
    record(session, Actor(Role(account.role), account.email, via, address, account.id), "staff.password_set",
           f"staff:{account.id}", {"by": "link", "tokens_revoked": revoked})
    return account


def change_own_password(session: Session, actor: Actor, current: str, new: str) -> None:
    if actor.staff_id is None:
        raise Forbidden("only a staff account has a password; use `newsletter staff reset-password`")
    account = session.get(StaffAccount, actor.staff_id)
    if account is None or not passwords.verify(account.password_hash, current):
        raise NotSignedIn("the current password is not right")
    passwords.check_strength(new, account.email)
    revoked = _store(session, account, new)
    record(session, actor, "staff.password_set", f"staff:{account.id}", {"by": "self", "tokens_revoked": revoked})


def _store(session: Session, account: StaffAccount, password: str) -> int:
    if account.sso_only:
        raise Conflict(f"{account.email} signs in with single sign-on only; it has no password")
    account.password_hash, account.password_changed_at = passwords.hash_password(password), utcnow()
    account.password_nonce = 0
    return revoke_everything(session, account.id)
