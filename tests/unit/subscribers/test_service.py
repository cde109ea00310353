import pytest
from sqlalchemy import func, select

from newsletter.addresses import InvalidAddress
from newsletter.errors import Conflict
from newsletter.operators import subscribers as operator_subscribers
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.import_sql import import_csv
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription
from newsletter.subscribers.service import SubscriberError, add_subscriber
from newsletter.tracking.models import Event


def test_add_normalises_and_validates(session, publication):
    sub = add_subscriber(session, publication, "  Ann.Reader@EXAMPLE.org ", "Ann", "drone-war,superpowers")
    assert sub.subscriber.email == "ann.reader@example.org"
    assert sub.sections == ["superpowers", "drone-war"]  # the publication's order
    for bad in ("not-an-address", "a@b", "x@example.org\r\nBcc: y@example.org"):
        with pytest.raises(InvalidAddress):
            add_subscriber(session, publication, bad)
    with pytest.raises(SubscriberError, match="line breaks"):
        add_subscriber(session, publication, "c@example.org", "Eve\nBcc: x")
    with pytest.raises(SubscriberError, match="unknown sections"):
        add_subscriber(session, publication, "d@example.org", "", "gardening")


def test_import_is_all_or_nothing(session, publication):
    text = "email,name,sections\nann@example.org,Ann,\nbroken,Bob,\ncara@example.org,Cara,nope\n"
    report = import_csv(session, publication, text)
    assert [line for line, _ in report.errors] == [3, 4]
    assert report.added == 0
    assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_import_skip_invalid_and_repeat(session, publication):
    text = "Email,Name,Sections\nann@example.org,Ann,drone-war\nbroken,Bob,\nANN@example.org,Dup,\n"
    assert import_csv(session, publication, text, skip_invalid=True).added == 1
    again = import_csv(session, publication, text, skip_invalid=True)
    assert (again.added, again.existing) == (0, 1)
    assert session.scalar(select(Subscription.sections)) == ["drone-war"]


def test_import_needs_an_email_column(session, publication):
    with pytest.raises(SubscriberError, match="email"):
        import_csv(session, publication, "name\nAnn\n")


def test_control_characters_in_names_are_refused_by_line(publication):
    from newsletter.subscribers.import_rows import read

    found = read(publication, "email,name\nok@example.org,Ok\nbad@example.org,Bad\x00Name\nesc@example.org,\x1b[2J\n")
    rows, errors = found.rows, found.errors
    assert [r.email for r in rows] == ["ok@example.org"]
    assert [(line, "control characters" in msg) for line, msg in errors] == [(3, True), (4, True)]


def test_a_csv_field_too_large_for_the_csv_module_is_one_clear_error(publication):
    import pytest

    from newsletter.subscribers.import_rows import read
    from newsletter.subscribers.service import SubscriberError

    with pytest.raises(SubscriberError, match="not a CSV file we can read"):
        read(publication, "email,name\na@example.org," + "x" * 200_000 + "\n")


def test_import_takes_a_time_zone_column(session, publication):
    from newsletter.subscribers.import_rows import read

    add_subscriber(session, publication, "known@example.org")
    text = ("email,timezone\nann@example.org,Pacific/Auckland\nbob@example.org,\n"
            "known@example.org,America/Los_Angeles\n")
    assert import_csv(session, publication, text).added == 2
    zones = dict(session.execute(select(Subscriber.email, Subscriber.timezone)).all())
    # "" : the publication's zone. An import adds people; it does not rewrite someone already
    # known (their zone may be their own choice): an admin changes it on the subscriber.
    assert zones == {"ann@example.org": "Pacific/Auckland", "bob@example.org": "", "known@example.org": ""}
    errors = read(publication, "email,timezone\ncara@example.org,Mars/Olympus_Mons\nd@example.org,GMT+2\n").errors
    assert [(line, "unknown time zone" in e) for line, e in errors] == [(2, True), (3, True)]


def test_a_sign_up_keeps_a_valid_browser_zone_and_drops_anything_else(session, publication):
    from newsletter.subscribers.signup import sign_up, validate

    assert validate(publication, "a@example.org", timezone="Europe/Berlin").timezone == "Europe/Berlin"
    for junk in ("Mars/Olympus_Mons", "../../etc/passwd", "x" * 300, "Europe/Berlin\r\nBcc: x"):
        assert validate(publication, "a@example.org", timezone=junk).timezone == ""  # ignored, not refused
    sign_up(session, publication, validate(publication, "new@example.org", timezone="Asia/Tokyo"))
    add_subscriber(session, publication, "old@example.org")
    sign_up(session, publication, validate(publication, "old@example.org", timezone="Asia/Tokyo"))
    zones = dict(session.execute(select(Subscriber.email, Subscriber.timezone)).all())
    assert zones == {"new@example.org": "", "old@example.org": ""}  # a sign-up never moves a known one
    asked = dict(session.execute(select(Subscriber.email, Subscription.requested_timezone).join(Subscription)).all())
    assert asked == {"new@example.org": "Asia/Tokyo", "old@example.org": ""}  # it waits for the link (signup.py)


def test_adding_someone_already_there_changes_nothing_of_theirs(session, publication, settings):
    ann = add_subscriber(session, publication, "ann@example.org", "Ann", "drone-war")
    session.commit()
    events = session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(Conflict, match="already subscribed"):
        add_subscriber(session, publication, "ann@example.org", "Changed?")
    session.rollback()
    session.expire_all()
    assert (ann.subscriber.name, ann.sections) == ("Ann", ["drone-war"])
    assert session.scalar(select(func.count()).select_from(Event)) == events
    bob = add_subscriber(session, publication, "bob@example.org", "Bob")
    bob.status = "pending"  # signed up, not confirmed: an admin's add confirms it
    bob.subscriber.status = SubscriberStatus.DISABLED
    session.commit()
    with pytest.raises(Conflict, match="disabled"):
        operator_subscribers.create(session, cli_actor(), settings.signing_key(), publication.slug, "bob@example.org")
    session.rollback()


def test_an_update_that_changes_nothing_records_nothing(session, publication):
    ann = add_subscriber(session, publication, "ann@example.org", "Ann").subscriber
    session.commit()
    operator_subscribers.update(session, cli_actor(), ann.id, operator_subscribers.Changes())
    operator_subscribers.update(session, cli_actor(), ann.id, operator_subscribers.Changes(name="Ann", status="active"))
    assert session.scalars(select(AuditEntry.action)).all() == []
    operator_subscribers.update(session, cli_actor(), ann.id, operator_subscribers.Changes(name="Ann R."))
    assert session.scalars(select(AuditEntry.action)).all() == ["subscriber.update"]
