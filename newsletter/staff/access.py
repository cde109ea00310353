"""Who may do what: the one table of permissions, and the caller of every staff action.

Each front door turns its caller into an `Actor`: the command line acts as an admin
(whoever can run it can read the database anyway), the API as the bearer token's role
(never above its account's current role), the console as the signed-in account. Domain
functions call `require` (or `audit.change`, which calls it) before anything else.

A role holds for every publication, or for named ones (`Actor.publications`, the ids;
None: every one). What belongs to a publication (its subscribers, editions, imports,
suppressions, figures) is checked with staff/scope.py; what spans every publication
(staff, the audit log, a change to a person as a whole) needs a role for every one.
"""
from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum

from newsletter.errors import Forbidden
from newsletter.staff.models import RANK, Role


class NotSignedIn(Forbidden):
    """No credentials, or credentials that do not name an active account (HTTP 401)."""

    status = 401
    title = "Sign-in required"


class TooManyAttempts(Forbidden):
    status = 429
    title = "Too many attempts"


class Permission(StrEnum):
    READ = "read"  # subscribers, suppressions, publications, editions, stats, imports
    EDITIONS = "editions.control"  # pause, resume, cancel (previews, test sends, rebuilds)
    PUBLICATIONS = "publications.write"  # publications, sections, feeds (console-managed)
    WEBHOOKS = "webhooks.manage"  # outgoing webhooks: they carry subscribers' addresses out
    SUBSCRIBERS = "subscribers.write"  # create, update, disable, enable, resubscribe, erase, import
    SUPPRESSIONS = "suppressions.write"
    EXPORT = "subscribers.export"  # personal data in bulk, and one person's data export
    STAFF = "staff.manage"  # accounts, and everyone's API tokens
    AUDIT = "audit.read"
    OWN_TOKENS = "tokens.own"  # one's own API tokens


# Permissions that span every publication: held only with a role for every publication.
EVERYWHERE_ONLY = frozenset({Permission.STAFF, Permission.AUDIT, Permission.WEBHOOKS})

# The lowest role that holds each permission.
PERMISSIONS: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.OWN_TOKENS: Role.VIEWER,
    Permission.EDITIONS: Role.OPERATOR,
    Permission.SUBSCRIBERS: Role.ADMIN,
    Permission.PUBLICATIONS: Role.ADMIN,
    Permission.WEBHOOKS: Role.ADMIN,
    Permission.SUPPRESSIONS: Role.ADMIN,
    Permission.EXPORT: Role.ADMIN,
    Permission.STAFF: Role.ADMIN,
    Permission.AUDIT: Role.ADMIN,
}


def parse_role(value: str) -> Role:
    from newsletter.errors import InvalidInput

    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r} (admin, operator or viewer)") from None


def at_most(role: Role, ceiling: Role) -> bool:
    return RANK[Role(role)] <= RANK[Role(ceiling)]


def lower_of(a: Role, b: Role) -> Role:
    return Role(a) if at_most(a, b) else Role(b)


@dataclass(frozen=True)
class Actor:
    role: Role
    label: str  # the staff address, or cli:<user>
    via: str  # cli, api, console
    address: str = ""  # the client address ("local" on the command line)
    staff_id: int | None = None
    token_id: int | None = None  # the API token used, if any
    publications: frozenset[int] | None = None  # the publications the role holds for; None: all

    @property
    def everywhere(self) -> bool:
        return self.publications is None

    def sees(self, publication_id: int | None) -> bool:
        """Whether the role holds for this publication (None: something of no publication)."""
        return self.publications is None or publication_id in self.publications

    def can(self, permission: Permission) -> bool:
        if permission in EVERYWHERE_ONLY and not self.everywhere:
            return False
        return at_most(PERMISSIONS[permission], self.role)


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        needed = PERMISSIONS[permission]
        if at_most(needed, actor.role):
            raise Forbidden(f"this needs the {needed} role for every publication; {actor.label} acts for "
                            "named publications only")
        raise Forbidden(f"this needs the {needed} role; {actor.label} acts as {actor.role}")


def require_everywhere(actor: Actor, permission: Permission, what: str) -> None:
    """For an act that reaches beyond one publication (a person as a whole, every one)."""
    require(actor, permission)
    if not actor.everywhere:
        raise Forbidden(f"{what} reaches every publication; {actor.label} acts for named publications only")


def cli_actor() -> Actor:
    """The command line: an admin, recorded as the operating-system user who ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return Actor(Role.ADMIN, f"cli:{user}", "cli", "local")
