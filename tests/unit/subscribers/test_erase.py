"""GDPR erasure: nothing of the person is left in any table, outbox file or counter; the
keyed hash stops every way back in (sign-up, admin add, import, the sender)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Delivery, DomainHold
from newsletter.delivery.recipients import recipients
from newsletter.editions.build import build_edition
from newsletter.errors import Conflict
from newsletter.limits import Counters, person_key
from newsletter.operators import imports as operator_imports
from newsletter.operators import subscribers as operator_subscribers
from newsletter.operators import suppressions as operator_suppressions
from newsletter.staff.access import cli_actor
from newsletter.staff.audit import record
from newsletter.subscribers import address_change, lifecycle
from newsletter.subscribers.models import Subscriber, Subscription, Suppression, SuppressionReason
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.signup import sign_up, validate
from newsletter.tracking.models import Event, EventKind, Method
from newsletter.tracking.token_claims import AddressClaim
from tests.helpers import find_everywhere

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
ANN = "ann@example.org"


@both
def test_erase_removes_the_person_everywhere(engine, settings, session, publication, tmp_path):
    sub = add_subscriber(session, publication, ANN, "Ann Reader", "superpowers")
    add_subscriber(session, publication, "bob@example.org", "Bob")
    ann = sub.subscriber
    edition, _ = build_edition(session, publication, date(2026, 11, 27))
    session.add(Delivery(edition_id=edition.id, subscriber_id=ann.id, status="failed",
                         last_error=f"550 5.1.1 <{ANN.upper()}> unknown user"))
    bob_id = session.scalar(select(Subscriber.id).where(Subscriber.email == "bob@example.org"))
    session.add(Delivery(edition_id=edition.id, subscriber_id=bob_id, status="failed",
                         last_error=f"451 too many messages for {ANN} and others"))
    session.add(DomainHold(edition_id=edition.id, domain="example.org", reason=f"5.7.1 <{ANN}> refused"))
    lifecycle.record_event(session, EventKind.BOUNCE, Method.SMTP, ann.id, publication.id, edition.id, "hard",
                           f"Diagnostic: 550 {ANN} unknown")
    lifecycle.unsubscribe(session, ann, publication, Method.LINK, reason="too-many", detail="I wrote: ann@ me")
    record(session, cli_actor(), "note", "subscriber:1", {"said": f"call {ANN}"})
    session.commit()
    outbox = settings.effective_outbox_dir
    outbox.mkdir(parents=True)
    (outbox / "ann.eml").write_bytes(f"To: Ann <{ANN}>\r\n\r\nhello\r\n".encode())
    (outbox / "bob.eml").write_bytes(b"To: bob@example.org\r\n\r\nhello\r\n")
    counters = Counters()
    key = f"email:{person_key(settings.signing_key(), ANN)}"
    counters.hit(key, 3, 3600)
    assert find_everywhere(engine, ANN)

    done = operator_subscribers.erase(engine, settings, counters, cli_actor(), ann.id)
    assert (done.deliveries, done.outbox_files) == (1, 1) and done.scrubbed >= 3
    assert find_everywhere(engine, ANN) == []
    assert find_everywhere(engine, "Ann Reader") == []
    if engine.dialect.name == "sqlite":  # nor in the files themselves: free pages, the write-ahead log
        database = Path(engine.url.database)
        for path in (database, database.with_name(database.name + "-wal")):
            data = path.read_bytes().lower() if path.exists() else b""
            assert ANN.lower().encode() not in data and b"ann reader" not in data, path.name
    assert not (outbox / "ann.eml").exists() and (outbox / "bob.eml").exists()
    assert key not in counters._local
    with Session(engine) as s:
        kept = s.scalars(select(Event).where(Event.publication_id == publication.id,
                                             Event.kind == EventKind.UNSUBSCRIBE)).all()
        assert [(e.subscriber_id, e.reason, e.detail) for e in kept] == [(None, "too-many", "")]
        row = s.scalar(select(Suppression).where(Suppression.reason == SuppressionReason.ERASED))
        assert row.email == "" and len(row.email_hash) == 64
        assert "erased" in s.scalar(select(Delivery.last_error).where(Delivery.subscriber_id == bob_id))


@both
def test_an_erased_address_never_comes_back(engine, settings, session, publication):
    secret = settings.signing_key()
    add_subscriber(session, publication, ANN)
    edition, _ = build_edition(session, publication, date(2026, 11, 27))
    session.commit()
    ann_id = session.scalar(select(Subscriber.id))
    operator_subscribers.erase(engine, settings, Counters(), cli_actor(), ann_id)
    with Session(engine) as s:
        # a sign-up: recorded nowhere, no confirmation
        decision = sign_up(s, publication, validate(publication, ANN.upper()), secret)
        assert not decision.send_confirmation
        assert s.scalar(select(Subscriber.id).where(Subscriber.email == ANN)) is None
        with pytest.raises(Conflict, match="erased"):
            add_subscriber(s, publication, ANN, secret=secret)
        s.rollback()
        assert lifecycle.admin_only_suppression(s, ANN, publication.id, secret).reason == "erased"
        page = operator_suppressions.search(s, cli_actor(), secret, q=ANN)
        assert [i["erased"] for i in page.items] == [True]
    job = operator_imports.import_now(engine, secret, cli_actor(), "spacewar-daily", f"email\n{ANN}\n")
    assert job["not_resubscribed"] == 1 and job["added"] == 0
    # Even a row put back behind every check's back is skipped by the sender.
    with Session(engine) as s:
        back = Subscriber(email=ANN)
        s.add(back)
        s.flush()
        s.add(Subscription(subscriber_id=back.id, publication_id=publication.id, status="active"))
        s.add(Delivery(edition_id=edition.id, subscriber_id=back.id))
        s.commit()
        did = s.scalar(select(Delivery.id))
    with engine.connect() as conn:
        assert [w for _, _, w in recipients(conn, [did], publication.id)] == [True]  # without the key...
        assert [w for _, _, w in recipients(conn, [did], publication.id, secret)] == [False]


def test_erase_reaches_the_addresses_a_person_had_before(engine, settings, session, publication):
    """Ann moved from ann@ to ann.new@; Bob moved from bob@, which Carol has now. Erasing
    each takes their earlier address too, but never what is someone else's now."""
    secret = settings.signing_key()
    for person, new in (("ann@example.org", "ann.new@example.org"), ("bob@example.org", "bob.new@example.org")):
        subscriber = add_subscriber(session, publication, person, person.split("@")[0].title()).subscriber
        change = address_change.request_change(session, subscriber, new)
        session.commit()
        address_change.confirm(session, secret, AddressClaim(change.id, subscriber.token_key, change.nonce))
        session.commit()
    add_subscriber(session, publication, "bob@example.org", "Carol")  # Bob's old address is Carol's now
    session.commit()
    outbox = settings.effective_outbox_dir
    outbox.mkdir(parents=True)
    for name, to in (("ann-old", "ann@example.org"), ("ann-new", "ann.new@example.org"),
                     ("carol", "bob@example.org"), ("bob-new", "bob.new@example.org")):
        (outbox / f"{name}.eml").write_bytes(f"To: {to}\r\n\r\nhello\r\n".encode())
    for email in ("ann.new@example.org", "bob.new@example.org"):
        who = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
        done = operator_subscribers.erase(engine, settings, Counters(), cli_actor(), who)
        assert done.outbox_files == (2 if email.startswith("ann") else 1)
    assert sorted(p.name for p in outbox.glob("*.eml")) == ["carol.eml"]
    assert find_everywhere(engine, "ann@example.org") == [] and find_everywhere(engine, "ann.new@example.org") == []
    assert session.scalar(select(Subscriber.name).where(Subscriber.email == "bob@example.org")) == "Carol"


def test_earlier_addresses_stay_suppressed_and_longer_addresses_are_someone_elses(engine, settings, session,
                                                                                  publication):
    """Ann's and Bob's old addresses bounced hard; both moved, both are erased: each old
    address stays blocked (by its keyed hash). Jim's jimbob@ contains bob@: it is his."""
    secret = settings.signing_key()
    for person, new in (("ann@example.org", "ann2@example.org"), ("bob@example.org", "bob2@example.org"),
                        ("jimbob@example.org", "jimbob@example.net")):
        subscriber = add_subscriber(session, publication, person, "X").subscriber
        lifecycle.suppress(session, person, None, SuppressionReason.HARD_BOUNCE if person != "jimbob@example.org"
                           else SuppressionReason.COMPLAINT)
        change = address_change.request_change(session, subscriber, new)
        session.commit()
        address_change.confirm(session, secret, AddressClaim(change.id, subscriber.token_key, change.nonce))
        session.commit()
    outbox = settings.effective_outbox_dir
    outbox.mkdir(parents=True)
    (outbox / "jim.eml").write_bytes(b"To: jimbob@example.org\r\n\r\nhello\r\n")
    for email in ("ann2@example.org", "bob2@example.org"):
        who = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
        operator_subscribers.erase(engine, settings, Counters(), cli_actor(), who)
    session.expire_all()
    for old in ("ann@example.org", "bob@example.org"):
        assert lifecycle.erased(session, secret, old) is not None  # never mailed again
        assert session.scalar(select(Suppression.id).where(Suppression.email == old)) is None
        assert session.scalar(select(Event.id).where(Event.detail == f"email:{old}")) is None
    assert find_everywhere(engine, "ann@example.org") == []  # bob@ is inside Jim's address: looked at below
    jim = session.scalars(select(Suppression).where(Suppression.email == "jimbob@example.org")).all()
    assert [s.reason for s in jim] == [SuppressionReason.COMPLAINT]
    assert (outbox / "jim.eml").exists()
    jims = session.scalar(select(Subscriber.id).where(Subscriber.email == "jimbob@example.net"))
    assert session.scalar(select(Event.detail).where(Event.subscriber_id == jims, Event.kind == EventKind.PROFILE)) \
        == "email:jimbob@example.org"
