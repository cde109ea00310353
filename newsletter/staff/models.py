"""Staff accounts, their server-side sessions, API tokens, and the audit log."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """Ordered: each role can do everything the ones before it can."""

    VIEWER = "viewer"  # reads
    OPERATOR = "operator"  # publications, feeds, editions, previews, test sends; reads subscribers
    ADMIN = "admin"  # everything, the subscriber list, staff and the audit log included


RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower case
    role: Mapped[str] = mapped_column(String(16))  # a Role
    # Argon2id (argon2-cffi's encoded form); "" until a password is set.
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The one-time set-password link carries this; setting a password clears it.
    password_nonce: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The TOTP secret (RFC 6238), encrypted under a key derived from NEWSLETTER_SECRET_KEY
    # (staff/totp.py); "" without one. Enrolment stores it pending (totp_enabled_at NULL)
    # until a first code proves the authenticator has it.
    totp_secret: Mapped[str] = mapped_column(String(255), default="")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)  # a code works once
    # Single sign-on: "<issuer> <subject>" of the identity provider's account; sso_only
    # accounts never sign in with a password.
    sso_subject: Mapped[str | None] = mapped_column(String(600), unique=True, default=None)
    sso_only: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffPublication(Base):
    """An account whose role holds for named publications only: one row per publication.
    An account without rows acts for every publication (staff/scope.py)."""

    __tablename__ = "staff_publications"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True)


class StaffPolicy(Base):
    """Rules an admin sets for every account, by name (e.g. require_2fa: none, admins, all)."""

    __tablename__ = "staff_policy"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of the database signs nobody in. Logging out deletes the row."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))  # sent back in forms and X-CSRF-Token
    address: Mapped[str] = mapped_column(String(64), default="")  # the client address at sign-in
    # "" signed in; "code": the password was right, a second-factor code is awaited;
    # "enrol": the policy requires a second factor the account has yet to set up. Only ""
    # opens the console and the API (sessions.resolve).
    stage: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the absolute limit


class ApiToken(Base):
    """A bearer token for the REST API: shown once, stored as its SHA-256 (it is 256 random
    bits, so a fast hash is enough), with a role no higher than its account's."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it in a list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RecoveryCode(Base):
    """One of the ten single-use codes given at enrolment: Argon2id hashes, as passwords."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RememberedDevice(Base):
    """A browser that may skip the second factor until it expires or is revoked: its
    cookie holds a random token, stored here as its SHA-256."""

    __tablename__ = "staff_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")  # the browser, as it named itself
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One change made by staff: who, when, from where, what. Subscribers are named by id,
    never by address, so that erasing a person leaves the log readable and clean."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"),
                                                 default=None, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # the staff address, or cli:<user>
    via: Mapped[str] = mapped_column(String(16))  # cli, api, console
    address: Mapped[str] = mapped_column(String(64), default="")  # client address; "local" for the CLI
    action: Mapped[str] = mapped_column(String(64))  # e.g. subscriber.update
    target: Mapped[str] = mapped_column(String(200), default="")  # e.g. subscriber:17
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON
