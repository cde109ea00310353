import pytest
from sqlalchemy import func, select

from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.subscribers.service import SubscriberError, add_subscriber, import_csv


def test_add_normalises_and_validates(session, publication):
    sub = add_subscriber(session, publication, "  Ann.Reader@EXAMPLE.org ", "Ann", "drone-war,superpowers")
    assert sub.subscriber.email == "ann.reader@example.org"
    assert sub.sections == ["superpowers", "drone-war"]  # the publication's order
    for bad in ("not-an-address", "a@b", "x@example.org\r\nBcc: y@example.org"):
        with pytest.raises(SubscriberError):
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
    from newsletter.subscribers.service import read_csv

    rows, errors = read_csv(publication, "email,name\nok@example.org,Ok\nbad@example.org,Bad\x00Name\n"
                                         "esc@example.org,\x1b[2J\n")
    assert [r.email for r in rows] == ["ok@example.org"]
    assert [(line, "control characters" in msg) for line, msg in errors] == [(3, True), (4, True)]


def test_a_csv_field_too_large_for_the_csv_module_is_one_clear_error(publication):
    import pytest

    from newsletter.subscribers.service import SubscriberError, read_csv

    with pytest.raises(SubscriberError, match="not a CSV file we can read"):
        read_csv(publication, "email,name\na@example.org," + "x" * 200_000 + "\n")
