"""Staff accounts, passwords, sessions, API tokens, roles and the audit log."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from newsletter.db import utcnow
from newsletter.errors import Conflict, Forbidden, InvalidInput
from newsletter.staff import accounts, api_tokens, passwords, sessions
from newsletter.staff.access import PERMISSIONS, Actor, NotSignedIn, Permission, TooManyAttempts, cli_actor, require
from newsletter.staff.models import AuditEntry, Role, StaffAccount, StaffSession
from newsletter.staff.throttle import SignInLimits, Store
from newsletter.tracking.tokens import InvalidToken

PASSWORD = "correct horse battery staple"


def add(session, settings, email, role, password=PASSWORD):
    new = accounts.add(session, cli_actor(), settings.signing_key(), email, role, password)
    session.commit()
    return new


def test_roles_are_ordered_and_every_permission_has_one():
    viewer, operator, admin = (Actor(r, r, "api") for r in Role)
    assert set(PERMISSIONS) == set(Permission)
    assert [a.can(Permission.EDITIONS) for a in (viewer, operator, admin)] == [False, True, True]
    assert [a.can(Permission.SUBSCRIBERS) for a in (viewer, operator, admin)] == [False, False, True]
    assert all(a.can(Permission.READ) for a in (viewer, operator, admin))
    with pytest.raises(Forbidden, match="admin role"):
        require(operator, Permission.AUDIT)


def test_passwords_are_argon2_and_checked(session, settings):
    for weak in ("short", "x" * 2000):
        with pytest.raises(InvalidInput):
            add(session, settings, "weak@example.org", "viewer", weak)
    with pytest.raises(InvalidInput, match="address"):
        passwords.check_strength("boss@example.org", "boss@example.org")
    account = add(session, settings, "Boss@Example.org", "admin").account
    assert account.email == "boss@example.org" and account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert passwords.verify(account.password_hash, PASSWORD) and not passwords.verify(account.password_hash, "nope")
    assert not passwords.verify("", PASSWORD)  # no password set: nothing matches
    with pytest.raises(Conflict):
        add(session, settings, "boss@example.org", "viewer")
    with pytest.raises(InvalidInput, match="unknown role"):
        add(session, settings, "x@example.org", "superuser")


def test_set_password_link_works_once(session, settings):
    new = accounts.add(session, cli_actor(), settings.signing_key(), "op@example.org", "operator")
    session.commit()
    assert new.link_token and new.account.password_hash == ""
    accounts.set_password_with_link(session, settings.signing_key(), new.link_token, PASSWORD)
    session.commit()
    assert passwords.verify(new.account.password_hash, PASSWORD)
    with pytest.raises(InvalidToken, match="already used"):
        accounts.set_password_with_link(session, settings.signing_key(), new.link_token, "another long password")
    with pytest.raises(InvalidToken):
        accounts.set_password_with_link(session, settings.signing_key(), new.link_token[:-2] + "xx", PASSWORD)


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def limits(settings, clock=None) -> SignInLimits:
    return SignInLimits(Store(clock=clock or Clock()), settings)


def _login(session, settings, counters, email="boss@example.org", password=PASSWORD, address="10.0.0.1"):
    signed = sessions.login(session, settings, counters, email, password, address)
    session.commit()
    return signed


def test_sessions_expire_idle_and_absolute_and_end_at_logout(session, settings):
    add(session, settings, "boss@example.org", "admin")
    counters = limits(settings)
    signed = _login(session, settings, counters)
    assert session.scalar(select(StaffSession.token_hash)) != signed.cookie  # only a hash is stored
    current = sessions.resolve(session, settings, signed.cookie)
    assert current.account.email == "boss@example.org" and sessions.csrf_token(current)
    now = utcnow()
    idle = timedelta(minutes=settings.staff_session_idle_minutes)
    assert sessions.resolve(session, settings, signed.cookie, now + idle - timedelta(seconds=5)) is not None
    assert sessions.resolve(session, settings, signed.cookie, now + idle * 2 + timedelta(seconds=5)) is None
    assert session.scalar(select(func.count()).select_from(StaffSession)) == 0  # deleted on the way

    signed = _login(session, settings, counters)
    late = utcnow() + timedelta(hours=settings.staff_session_max_hours, seconds=1)
    row = session.scalar(select(StaffSession))
    row.last_seen_at = late - timedelta(minutes=1)  # in use all along
    assert sessions.resolve(session, settings, signed.cookie, late) is None

    signed = _login(session, settings, counters)
    # The first character of the signature: its last one may carry only padding bits,
    # which base64 ignores, so changing it can leave the signature valid.
    cut = signed.cookie.rindex(".") + 1
    tampered = signed.cookie[:cut] + ("A" if signed.cookie[cut] != "A" else "B") + signed.cookie[cut + 1:]
    assert sessions.resolve(session, settings, tampered) is None
    assert sessions.logout(session, settings, signed.cookie)
    assert sessions.resolve(session, settings, signed.cookie) is None


def test_csrf_token_belongs_to_its_session(session, settings):
    add(session, settings, "boss@example.org", "admin")
    counters = limits(settings)
    one = sessions.resolve(session, settings, _login(session, settings, counters).cookie)
    two = sessions.resolve(session, settings, _login(session, settings, counters).cookie)
    sessions.check_csrf(one, sessions.csrf_token(one))
    for wrong in (None, "", sessions.csrf_token(two)):
        with pytest.raises(Forbidden):
            sessions.check_csrf(one, wrong)


def test_failures_back_off_per_account_and_client_and_never_hold_the_owner_back(session, settings):
    boss = add(session, settings, "boss@example.org", "admin").account
    settings.login_limit_per_account, settings.login_limit_per_client = 3, 6
    settings.login_limit_per_account_all_clients, settings.login_backoff_base_seconds = 5, 2
    clock = Clock()
    counters = limits(settings, clock)
    _login(session, settings, counters)  # the owner, from 10.0.0.1: a known client from now on
    for _ in range(3):  # someone else, from 10.0.0.9
        with pytest.raises(NotSignedIn):
            _login(session, settings, counters, password="wrong password!", address="10.0.0.9")
    with pytest.raises(TooManyAttempts) as waiting:  # the right password is not even looked at
        _login(session, settings, counters, address="10.0.0.9")
    assert waiting.value.retry_after == 2
    clock.now += 2  # a back-off, not a lock: it runs out, and doubles with each failure
    with pytest.raises(NotSignedIn):
        _login(session, settings, counters, password="wrong password!", address="10.0.0.9")
    with pytest.raises(TooManyAttempts) as waiting:
        _login(session, settings, counters, address="10.0.0.9")
    assert waiting.value.retry_after == 4

    # Spread over places: the account's own threshold (5 failures from everywhere), then
    # every client it has not signed in from waits; the owner is told, once.
    with pytest.raises(sessions.SignInFailed) as failed:  # the fifth failure from anywhere
        _login(session, settings, counters, password="wrong password!", address="10.0.1.1")
    assert failed.value.alert_staff_id == boss.id
    for n in range(2, 4):  # new places: they wait too, even with the right password
        with pytest.raises(TooManyAttempts):
            _login(session, settings, counters, address=f"10.0.1.{n}")
    clock.now += 2
    with pytest.raises(sessions.SignInFailed) as failed:
        _login(session, settings, counters, password="wrong password!", address="10.0.1.5")
    assert failed.value.alert_staff_id is None  # told once
    assert _login(session, settings, counters).account.email == "boss@example.org"  # the owner, at once

    # One client trying many accounts: its own limit, whichever account.
    for n in range(6):
        with pytest.raises(NotSignedIn):
            _login(session, settings, counters, email=f"nobody{n}@example.org", address="10.0.3.1")
    with pytest.raises(TooManyAttempts):
        _login(session, settings, counters, email="nobody9@example.org", address="10.0.3.1")

    clock.now += settings.login_limit_window_seconds + 1  # a quiet window forgets it all
    assert _login(session, settings, counters, address="10.0.0.9").account.email == "boss@example.org"


def test_sign_ins_that_work_are_not_counted(session, settings):
    add(session, settings, "boss@example.org", "admin")
    settings.login_limit_per_account, settings.login_limit_per_client = 2, 10
    counters = limits(settings)
    for _ in range(6):  # several tabs and devices
        assert _login(session, settings, counters).account.email == "boss@example.org"
    with pytest.raises(NotSignedIn):
        _login(session, settings, counters, password="wrong password!")
    assert _login(session, settings, counters).account.email == "boss@example.org"
    with pytest.raises(NotSignedIn):
        _login(session, settings, counters, password="wrong password!")
    with pytest.raises(NotSignedIn):
        _login(session, settings, counters, password="wrong password!")
    with pytest.raises(TooManyAttempts):  # two failures in a row: the next one waits
        _login(session, settings, counters)


def test_disabled_accounts_cannot_sign_in_and_the_last_admin_stays(session, settings):
    add(session, settings, "boss@example.org", "admin")
    add(session, settings, "view@example.org", "viewer")
    with pytest.raises(Conflict, match="last active admin"):
        accounts.disable(session, cli_actor(), "boss@example.org")
    with pytest.raises(Conflict, match="last active admin"):
        accounts.set_role(session, cli_actor(), "boss@example.org", "viewer")
    session.rollback()
    accounts.disable(session, cli_actor(), "view@example.org")
    session.commit()
    with pytest.raises(NotSignedIn):
        _login(session, settings, limits(settings), email="view@example.org")


def test_api_tokens_are_hashed_revocable_and_capped_by_the_account(session, settings):
    op = add(session, settings, "op@example.org", "operator").account
    with pytest.raises(Forbidden):
        api_tokens.create(session, cli_actor(), "too high", "admin", op.id)
    session.rollback()
    row, raw = api_tokens.create(session, cli_actor(), "ci", None, op.id)
    session.commit()
    assert row.role == "operator" and raw.startswith("nlt_") and raw not in (row.token_hash, row.prefix)
    actor = api_tokens.authenticate(session, raw, "10.0.0.1")
    assert (actor.role, actor.staff_id, actor.via) == ("operator", op.id, "api")
    assert row.last_used_at is not None
    # The account loses its role: the token follows; disabled or revoked: refused.
    accounts.set_role(session, cli_actor(), op.id, "viewer")
    assert api_tokens.authenticate(session, raw, "x").role == "viewer"
    accounts.disable(session, cli_actor(), op.id)
    assert api_tokens.authenticate(session, raw, "x") is None
    accounts.enable(session, cli_actor(), op.id)
    operator = Actor(Role.VIEWER, op.email, "api", staff_id=op.id)
    other = add(session, settings, "other@example.org", "admin").account
    _, other_raw = api_tokens.create(session, cli_actor(), "theirs", None, other.id)
    with pytest.raises(Forbidden):  # not theirs to revoke
        api_tokens.revoke(session, operator, api_tokens.tokens(session, cli_actor(), other.id)[0].id)
    api_tokens.revoke(session, operator, row.id)
    assert api_tokens.authenticate(session, raw, "x") is None
    assert api_tokens.authenticate(session, other_raw, "x").role == "admin"
    for bogus in ("", "nlt_", "Bearer x", "nlt_" + "x" * 200):
        assert api_tokens.authenticate(session, bogus, "x") is None


def test_a_token_needs_a_name_and_takes_no_more_than_its_maker_may_give(session, settings):
    op = add(session, settings, "op@example.org", "operator").account
    for blank in ("", "   "):
        with pytest.raises(InvalidInput, match="needs a name"):
            api_tokens.create(session, cli_actor(), blank, None, op.id)
        session.rollback()
    as_viewer = Actor(Role.VIEWER, op.email, "api", staff_id=op.id)  # the operator, through a viewer token
    row, _ = api_tokens.create(session, as_viewer, "read only", None)
    assert row.role == "viewer"


def test_changes_are_audited_refusals_and_failures_are_not(session, settings):
    viewer = Actor(Role.VIEWER, "view@example.org", "api", "10.0.0.9", None)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(Forbidden):
        accounts.add(session, viewer, settings.signing_key(), "x@example.org", "viewer", PASSWORD)
    with pytest.raises(InvalidInput):
        accounts.add(session, cli_actor(), settings.signing_key(), "x@example.org", "nope", PASSWORD)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert session.scalar(select(func.count()).select_from(StaffAccount)) == 0
    add(session, settings, "x@example.org", "viewer")
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.via, entry.address, entry.target) == ("staff.add", "cli", "local", "staff:1")
    assert json.loads(entry.detail)["role"] == "viewer" and PASSWORD not in entry.detail
