"""Personal emails bounce like editions: each goes out with a VERP envelope sender naming
which email it was. A bounced confirmation (of a sign-up, of a new address) ends that
request and nothing else; a bounced welcome or notice to the current address counts
against that subscriber as an edition's bounce would."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport
from newsletter.config import sample_file
from newsletter.mail.account_mail import send_address_change, send_welcome
from newsletter.mail.confirmation import send_confirmation
from newsletter.publications.load import load_publications
from newsletter.subscribers.address_change import AddressChange, request_change
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.signup import confirm, sign_up, validate
from newsletter.tracking.models import Event
from newsletter.tracking.token_claims import ConfirmClaim, PersonalKind
from newsletter.tracking.tokens import InvalidToken, Tokens
from tests.helpers import WEEKLY
from tests.personal_mail import Recorder, bounce

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def pubs(session, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(sample_file("publications.toml").read_text() + WEEKLY)
    daily, weekly = load_publications(session, path)
    daily.bounce_domain = "bounces.spacewar.example.com"
    session.commit()
    return daily, weekly


def ask(session, settings, publication, address: str) -> int:
    decision = sign_up(session, publication, validate(publication, address), settings.signing_key())
    session.commit()
    assert decision.send_confirmation
    return decision.subscription_id


def snapshot(engine):
    """Everything a bounce could change about people: subscriptions, suppressions, events."""
    with Session(engine) as s:
        return (sorted(s.execute(select(Subscription.id, Subscription.status)).all()),
                sorted(s.execute(select(Suppression.email, Suppression.reason)).all()),
                s.scalar(select(func.count(Event.id))))


def report(engine, report_id: int) -> BounceReport:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(BounceReport, report_id)


def nonce(engine, subscription_id: int) -> int:
    with Session(engine) as s:
        return s.get(Subscription, subscription_id).confirm_nonce


def test_a_bounced_confirmation_ends_that_sign_up_and_changes_nothing_else(engine, session, settings, pubs):
    daily, weekly = pubs
    ann = add_subscriber(session, weekly, "ann@example.org", "Ann").subscriber  # a real subscriber of one
    session.commit()
    backend = Recorder()
    mails = {}
    for address in ("ann@example.org", "typo@example.org"):  # Ann asked for another; a stranger mistyped
        sub_id = ask(session, settings, daily, address)
        send_confirmation(session, settings, backend, sub_id)
        mails[address] = (sub_id, backend.last())
    for sub_id, mail in mails.values():
        claim = Tokens(settings.signing_key()).read_personal_verp_address(mail.envelope_from)
        assert (claim.kind, claim.row_id) == (PersonalKind.CONFIRM, sub_id)
        assert mail.envelope_from.endswith("@bounces.spacewar.example.com")
    before = snapshot(engine)
    for name in ("gmail_no_such_user.eml", "yahoo_arf_abuse.eml"):  # a hard bounce; a complaint of the other
        address = "typo@example.org" if name.startswith("gmail") else "ann@example.org"
        sub_id, mail = mails[address]
        link = ConfirmClaim(sub_id, session.get(Subscription, sub_id).subscriber.token_key, nonce(engine, sub_id))
        done = report(engine, bounce(engine, settings, mail.report(name)))
        assert (done.status, done.matched_by, done.subscriber_id) == ("parsed", "verp", None), done.outcome
        assert "sign-up request ended (nobody suppressed)" in done.outcome
        assert nonce(engine, sub_id) == 0
        with Session(engine) as s, pytest.raises(InvalidToken, match="already used or replaced"):
            confirm(s, link)  # its link no longer works
    assert snapshot(engine) == before  # no status, suppression or event changed, Ann's included
    with Session(engine) as s:
        assert s.get(Subscriber, ann.id).status == "active"
    # Whoever really owns the address can still sign up: a new request, a new link.
    assert ask(session, settings, daily, "typo@example.org") == mails["typo@example.org"][0]


def test_a_late_bounce_of_an_earlier_confirmation_leaves_the_newer_request(engine, session, settings, pubs):
    daily, _ = pubs
    backend = Recorder()
    sub_id = ask(session, settings, daily, "zed@example.org")
    send_confirmation(session, settings, backend, sub_id)
    first = backend.last()
    ask(session, settings, daily, "zed@example.org")  # a newer request replaced it
    waiting = nonce(engine, sub_id)
    done = report(engine, bounce(engine, settings, first.report("gmail_no_such_user.eml")))
    assert done.status == "parsed" and "replaced or withdrawn since: nothing to do" in done.outcome
    assert nonce(engine, sub_id) == waiting


def test_without_its_verp_address_a_confirmation_is_known_by_its_message_id(engine, session, settings, pubs):
    """Before, a confirmation's Message-ID matched the subscriber and a hard bounce of it
    suppressed the address: an unconfirmed address is nobody's, so now it only ends the request."""
    daily, _ = pubs
    backend = Recorder()
    sub_id = ask(session, settings, daily, "zed@example.org")
    send_confirmation(session, settings, backend, sub_id)
    raw = backend.last().report("gmail_no_such_user.eml", verp="postmaster@relay.example.net")
    before = snapshot(engine)
    done = report(engine, bounce(engine, settings, raw))
    assert (done.matched_by, done.subscriber_id) == ("message-id", None) and nonce(engine, sub_id) == 0
    assert snapshot(engine) == before


def test_a_bounced_welcome_counts_like_an_editions_bounce(engine, session, settings, pubs):
    daily, _ = pubs
    backend = Recorder()
    sub_id = ask(session, settings, daily, "zed@example.org")
    sub = session.get(Subscription, sub_id)
    confirm(session, ConfirmClaim(sub_id, sub.subscriber.token_key, sub.confirm_nonce))
    session.commit()
    send_welcome(session, settings, backend, sub_id)
    welcome = backend.last()
    msg = welcome.message
    # like an edition: the URL, one-click, the mailto:
    url, mailto = (o.strip() for o in str(msg["List-Unsubscribe"]).split(","))
    assert url.startswith("<https://news.example.com/u/") and msg["List-Unsubscribe-Post"] == \
        "List-Unsubscribe=One-Click"
    assert mailto.startswith("<mailto:unsubscribe+") and mailto.endswith("@bounces.spacewar.example.com>")
    assert msg["Precedence"] is None  # still a personal message
    claim = Tokens(settings.signing_key()).read_personal_verp_address(welcome.envelope_from)
    assert (claim.kind, claim.row_id) == (PersonalKind.WELCOME, sub_id)

    soft = report(engine, bounce(engine, settings, welcome.report("gmail_over_quota.eml")))
    assert (soft.kind, soft.subscriber_id, soft.matched_by) == ("soft", sub.subscriber_id, "verp")
    hard = report(engine, bounce(engine, settings, welcome.report("gmail_no_such_user.eml")))
    assert (hard.kind, hard.subscriber_id) == ("hard", sub.subscriber_id)
    with Session(engine) as s:
        assert s.get(Subscription, sub_id).status == "unsubscribed"
        assert s.scalar(select(Suppression.reason).where(Suppression.email == "zed@example.org")) == "hard_bounce"
        assert set(s.scalars(select(Event.method).where(Event.kind == "unsubscribe"))) == {"bounce"}


def test_a_welcome_bounce_after_the_address_changed_is_about_an_address_no_longer_theirs(
        engine, session, settings, pubs):
    daily, _ = pubs
    sub = add_subscriber(session, daily, "old@example.org", "Olga")
    session.commit()
    backend = Recorder()
    send_welcome(session, settings, backend, sub.id)
    sub.subscriber.email = "new@example.org"  # the address changed since (address_change.confirm)
    session.commit()
    before = snapshot(engine)
    done = report(engine, bounce(engine, settings, backend.last().report("gmail_no_such_user.eml")))
    assert done.status == "parsed" and "nothing to do" in done.outcome and done.subscriber_id is None
    assert snapshot(engine) == before


def test_address_change_mail_the_link_ends_its_request_the_notice_counts(engine, session, settings, pubs):
    daily, weekly = pubs
    ann = add_subscriber(session, daily, "ann@example.org", "Ann").subscriber
    add_subscriber(session, weekly, "ann@example.org", "Ann")
    add_subscriber(session, daily, "bob@example.org", "Bob")
    session.commit()
    backend = Recorder()
    change = request_change(session, ann, "ann.typo@example.org")
    session.commit()
    send_address_change(session, settings, backend, change.id, "new")
    link = backend.last()
    assert (link.to, Tokens(settings.signing_key()).read_personal_verp_address(link.envelope_from).kind) == (
        "ann.typo@example.org", PersonalKind.ADDRESS_NEW)
    before = snapshot(engine)
    done = report(engine, bounce(engine, settings, link.report("gmail_no_such_user.eml")))
    assert "address change request ended (nobody suppressed)" in done.outcome and done.subscriber_id is None
    assert snapshot(engine) == before
    with Session(engine) as s:
        assert s.get(AddressChange, change.id) is None

    # Bob's address is taken: the note to it bouncing moves nobody.
    session.expunge_all()  # the withdrawn change, gone from the database, may have its id reused
    ann = session.get(Subscriber, ann.id)
    change = request_change(session, ann, "bob@example.org")
    session.commit()
    send_address_change(session, settings, backend, change.id, "new")
    done = report(engine, bounce(engine, settings, backend.last().report("gmail_no_such_user.eml")))
    assert done.status == "parsed" and "nothing to do" in done.outcome
    assert snapshot(engine) == before

    send_address_change(session, settings, backend, change.id, "old")  # the notice to Ann's own address
    notice = backend.last()
    assert Tokens(settings.signing_key()).read_personal_verp_address(notice.envelope_from).kind == \
        PersonalKind.ADDRESS_OLD
    done = report(engine, bounce(engine, settings, notice.report("gmail_no_such_user.eml")))
    assert (done.kind, done.subscriber_id) == ("hard", ann.id)
    with Session(engine) as s:
        statuses = set(s.scalars(select(Subscription.status).where(Subscription.subscriber_id == ann.id)))
        assert statuses == {"unsubscribed"}  # every publication of hers, as an address match would
        assert s.scalar(select(Suppression.reason).where(Suppression.email == "ann@example.org")) == "hard_bounce"
        assert s.scalar(select(Subscription.status).join(Subscriber).where(Subscriber.email == "bob@example.org")) \
            == "active"


def test_without_verp_personal_mail_keeps_the_sender_address(engine, session, settings, pubs):
    daily, _ = pubs
    daily.verp = False
    session.commit()
    backend = Recorder()
    send_confirmation(session, settings, backend, ask(session, settings, daily, "zed@example.org"))
    assert backend.last().envelope_from == daily.sender_address


def test_without_its_verp_address_the_notice_is_known_by_its_message_id(engine, session, settings, pubs):
    daily, _ = pubs
    ann = add_subscriber(session, daily, "ann@example.org", "Ann").subscriber
    session.commit()
    backend = Recorder()
    change = request_change(session, ann, "ann.new@example.org")
    session.commit()
    send_address_change(session, settings, backend, change.id, "old")
    notice = backend.last()
    assert notice.message_id.startswith(f"<address-old.{change.id}.")  # names the change, as before
    done = report(engine, bounce(engine, settings, notice.report("gmail_no_such_user.eml",
                                                                 verp="postmaster@relay.example.net")))
    assert (done.matched_by, done.kind, done.subscriber_id) == ("message-id", "hard", ann.id)
