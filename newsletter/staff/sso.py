"""Single sign-on: who a provider's person is here, and with what role.

The role comes from one claim of the ID token (NEWSLETTER_SSO_CLAIM, "groups" by default:
a list of values or one value) through NEWSLETTER_SSO_ROLES, rules checked in order, the
first match wins:

    newsroom-admins=admin, space-desk=operator:spacewar-daily+orbit-weekly, *=viewer

A rule may name publications (joined by +): the role holds for those only. No match, no
access. At every sign-on the account takes the role and publications the provider gives
now, so that a change of group there is a change of role here at the next sign-in.

The account is the one that signed on before with the same issuer and subject; else the
one with the same address, if the provider says the address is verified (it is linked
from then on; a password it has keeps working unless it is SSO-only); else a new
SSO-only account (no password at all) when NEWSLETTER_SSO_CREATE allows. A disabled
account stays out. The provider's own second factor is its business: no TOTP is asked
after a single sign-on.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.addresses import InvalidAddress, normalise_email
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import ConfigurationError
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor, NotSignedIn
from newsletter.staff.audit import record
from newsletter.staff.models import Role, StaffAccount, StaffPublication


class NoRoleHere(NotSignedIn):
    title = "No access"


@dataclass(frozen=True)
class Rule:
    value: str  # a value of the claim; "*": anyone the provider vouches for
    role: Role
    publications: tuple[str, ...] = ()  # slugs; empty: every publication


def parse_rules(text: str) -> list[Rule]:
    rules = []
    for item in (x.strip() for x in (text or "").split(",")):
        if not item:
            continue
        value, sep, grant = item.rpartition("=")
        role, _, pubs = grant.partition(":")
        try:
            rules.append(Rule(value.strip(), Role(role.strip().lower()),
                              tuple(p.strip() for p in pubs.split("+") if p.strip())))
        except ValueError:
            raise ConfigurationError(f"NEWSLETTER_SSO_ROLES: {item[:80]!r} is not value=role[:pub+pub]") from None
        if not sep or not value.strip():
            raise ConfigurationError(f"NEWSLETTER_SSO_ROLES: {item[:80]!r} is not value=role[:pub+pub]")
    return rules


def grant_for(settings: Settings, claims: dict) -> Rule | None:
    given = claims.get(settings.sso_claim)
    values = {str(v) for v in given} if isinstance(given, list) else {str(given)} if given is not None else set()
    return next((r for r in parse_rules(settings.sso_roles) if r.value == "*" or r.value in values), None)


def _subject(claims: dict) -> str:
    return f"{claims.get('iss', '')} {claims.get('sub', '')}"[:600]


def _find(db: Session, claims: dict) -> StaffAccount | None:
    account = db.scalar(select(StaffAccount).where(StaffAccount.sso_subject == _subject(claims)))
    if account is not None:
        return account
    if claims.get("email") and claims.get("email_verified") is True:
        try:
            email = normalise_email(str(claims["email"]))
        except InvalidAddress:
            return None
        account = db.scalar(select(StaffAccount).where(StaffAccount.email == email, StaffAccount.sso_subject.is_(None)))
        if account is not None:
            account.sso_subject = _subject(claims)
        return account
    return None


def account_for(db: Session, settings: Settings, claims: dict, address: str) -> StaffAccount:
    """The account this person signs on as, its role and publications set from the claims."""
    if not claims.get("sub"):
        raise NotSignedIn("the sign-on provider named no subject")
    rule = grant_for(settings, claims)
    if rule is None:
        raise NoRoleHere("your single sign-on account is given no role here; ask an admin")
    account = _find(db, claims)
    made = False
    if account is None:
        if not settings.sso_create or not claims.get("email") or claims.get("email_verified") is not True:
            raise NoRoleHere("there is no staff account for you here; ask an admin")
        try:
            email = normalise_email(str(claims["email"]))
        except InvalidAddress:
            raise NoRoleHere("the sign-on provider's address for you is not one we can use") from None
        if db.scalar(select(StaffAccount.id).where(StaffAccount.email == email)) is not None:
            raise NoRoleHere("a staff account with your address is linked to another sign-on identity")
        account = StaffAccount(email=email, role=rule.role, active=True, created_at=utcnow(), sso_only=True,
                               sso_subject=_subject(claims))
        db.add(account)
        db.flush()
        made = True
    if not account.active:
        raise NotSignedIn("this staff account is disabled")
    _apply(db, account, rule, address, made)
    return account


def _apply(db: Session, account: StaffAccount, rule: Rule, address: str, made: bool) -> None:
    ids = dict(db.execute(select(Publication.slug, Publication.id)
                          .where(Publication.slug.in_(rule.publications))).all())
    if rule.publications and not ids:
        raise NoRoleHere("none of the publications your sign-on role names exists here; ask an admin")
    before = (account.role, sorted(db.scalars(select(StaffPublication.publication_id)
                                              .where(StaffPublication.staff_id == account.id))))
    account.role = rule.role
    db.execute(delete(StaffPublication).where(StaffPublication.staff_id == account.id))
    db.add_all(StaffPublication(staff_id=account.id, publication_id=pid) for pid in sorted(ids.values()))
    db.flush()
    if made or before != (rule.role, sorted(ids.values())):
        actor = Actor(Role.ADMIN, "sso", "console", address)
        record(db, actor, "staff.sso_add" if made else "staff.sso_role", f"staff:{account.id}",
               {"role": rule.role, "publications": sorted(ids) or None})
