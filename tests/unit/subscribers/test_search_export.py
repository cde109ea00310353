"""Search filters and keyset pages, the CSV export (streamed, spreadsheet-safe), one
person's data, and plain ASCII address validation against email_validator."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from email_validator import EmailNotValidError, validate_email

from newsletter.addresses import InvalidAddress, normalise_email
from newsletter.csvout import csv_chunks, plain_cell, safe_cell
from newsletter.db import utcnow
from newsletter.errors import Forbidden, InvalidInput
from newsletter.operators import subscribers as operator_subscribers
from newsletter.staff.access import Actor, cli_actor
from newsletter.staff.models import Role
from newsletter.subscribers import import_rows, lifecycle, search
from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Method

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
VIEWER = Actor(Role.VIEWER, "viewer@staff.example.org", "api")


@pytest.fixture
def people(session, publication):
    add_subscriber(session, publication, "ann@example.org", "Ann Reader", "superpowers")
    add_subscriber(session, publication, "anna_b@example.org", "=HYPERLINK(\"x\")", None)
    add_subscriber(session, publication, "bob@example.org", "Bob", "drone-war")
    add_subscriber(session, publication, "annex@other.example", "Xavier", "drone-war,superpowers")
    bob = session.query(Subscriber).filter_by(email="bob@example.org").one()
    lifecycle.unsubscribe(session, bob, publication, Method.LINK)
    session.commit()


def emails(page):
    return [i["email"] for i in page.items]


@both
def test_filters(session, publication, people):
    def find(**kw):
        return sorted(emails(operator_subscribers.search(session, VIEWER, search.Filters(**kw))))

    assert find(q="ann") == ["ann@example.org", "anna_b@example.org", "annex@other.example"]
    assert find(q="anna_") == ["anna_b@example.org"]  # _ is a character, not a wildcard
    assert find(q="ANN@") == ["ann@example.org"]
    assert find(q="xav") == ["annex@other.example"]  # a name prefix
    assert find(q="@example.org") == ["ann@example.org", "anna_b@example.org", "bob@example.org"]  # a domain
    assert find(q="@Other.Example") == ["annex@other.example"]
    assert find(q="@ample.org") == [] and find(q="@example") == []  # the whole domain, not a part of it
    assert find(publication="spacewar-daily", subscription="unsubscribed") == ["bob@example.org"]
    assert find(publication="spacewar-daily", section="superpowers") == [
        "ann@example.org", "anna_b@example.org", "annex@other.example"]  # anna takes every section
    assert find(publication="spacewar-daily", section="drone-war", subscription="active") == [
        "anna_b@example.org", "annex@other.example"]
    assert find(created_from=utcnow() + timedelta(hours=1)) == []
    assert len(find(created_to=utcnow() + timedelta(hours=1))) == 4
    for bad in ({"status": "gone"}, {"publication": "nope"}, {"section": "superpowers"},
                {"publication": "spacewar-daily", "section": "cooking"}, {"subscription": "maybe"}, {"q": "x" * 400},
                {"q": "@"}, {"q": "@a@b.example"}):
        with pytest.raises(InvalidInput):
            find(**bad)


@both
def test_keyset_pages_and_totals(session, publication, people, monkeypatch):
    first = operator_subscribers.search(session, VIEWER, search.Filters(), limit=3)
    assert (first.total, first.total_is_estimate, len(first.items)) == (4, False, 3)
    rest = operator_subscribers.search(session, VIEWER, search.Filters(), before=first.next_cursor, limit=3)
    assert rest.next_cursor is None and len(rest.items) == 1
    assert emails(first) + emails(rest) == ["annex@other.example", "bob@example.org", "anna_b@example.org",
                                            "ann@example.org"]  # newest first
    monkeypatch.setattr(search, "EXACT_UP_TO", 1)
    for f in (search.Filters(), search.Filters(q="ann", publication="spacewar-daily", section="superpowers",
                                               created_from=utcnow() - timedelta(days=1))):
        page = operator_subscribers.search(session, VIEWER, f)
        assert page.total >= 2 and page.total_is_estimate == (session.get_bind().dialect.name == "postgresql")


@both
def test_csv_export_is_streamed_safe_and_imports_back(engine, session, publication, people):
    with pytest.raises(Forbidden):
        operator_subscribers.export_csv(engine, VIEWER, search.Filters())
    chunks = list(operator_subscribers.export_csv(engine, cli_actor(), search.Filters(publication="spacewar-daily"),
                                                  chunk=2))
    assert len(chunks) >= 3  # header, then two rows at a time
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["email"] for r in rows] == ["ann@example.org", "anna_b@example.org", "bob@example.org",
                                          "annex@other.example"]
    assert rows[1]["name"] == "'=HYPERLINK(\"x\")"
    assert rows[0]["sections"] == "superpowers" and rows[1]["sections"] == ""
    assert rows[2]["subscriptions"] == "spacewar-daily:unsubscribed"
    back = import_rows.read(publication, "".join(chunks))  # the import's own reading of the file
    assert not back.errors
    assert [(r.email, r.name) for r in back.rows][:2] == [("ann@example.org", "Ann Reader"),
                                                          ("anna_b@example.org", "=HYPERLINK(\"x\")")]


def test_spreadsheet_formulas_are_escaped():
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert safe_cell("Ann") == "Ann" and safe_cell(None) == "" and safe_cell(3) == "3"
    assert "".join(csv_chunks([["=x", "a,b"]])) == "'=x,\"a,b\"\r\n"


# Fullwidth and small forms, and formulas behind invisible characters (zero-width space,
# BOM, word joiner, zero-width joiner, left-to-right mark, no-break and ideographic spaces).
DISGUISED = ["\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\ufe66x", "\u200b=1+1", "\ufeff=1+1",
             "\u2060+1", "\u200d-1", "\u200e@x", "\u00a0=1", "\u3000=1", " =1", "\u200b\u200b\uff1dx", "'\u200b=x"]


@pytest.mark.parametrize("cell", DISGUISED)
def test_disguised_formulas_are_escaped(cell):
    assert safe_cell(cell) == "'" + cell
    assert "".join(csv_chunks([[cell]])).startswith(("'", "\"'"))
    assert plain_cell(safe_cell(cell)) == cell


def test_text_that_only_starts_oddly_is_left_alone():
    for cell in ("\u200bAnn", "\uff21nn", "Ann=1", "\u00e9lodie", "\u4e2d\u6587", "\u200b", "1-2"):
        assert safe_cell(cell) == cell
        assert "".join(csv_chunks([[cell]])).startswith(cell[:1])


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "''=x", "'x", "'", "Ann",
                                  "o'neil@x.ie", "'+1@example.org", ""])
def test_every_cell_comes_back_as_it_was(cell):
    assert plain_cell(safe_cell(cell)) == cell
    (written,) = csv_chunks([[cell]])
    assert plain_cell(next(csv.reader(io.StringIO(written)))[0] if cell else "") == cell


def test_person_data_holds_everything(session, publication, people):
    ann = session.query(Subscriber).filter_by(email="ann@example.org").one()
    data = operator_subscribers.export_person(session, cli_actor(), ann.id)
    assert data["subscriber"]["email"] == "ann@example.org"
    assert data["subscriptions"][0]["sections"] == ["superpowers"]
    assert data["events"][0]["kind"] == "subscribe"
    with pytest.raises(Forbidden):
        operator_subscribers.export_person(session, VIEWER, ann.id)


ADDRESSES = ["Ann@Example.org", "a.b@x.co", "a..b@x.co", ".a@x.co", "a.@x.co", "a@localhost", "a@x", "a@x..co",
             "a@-x.co", "a@x-.co", "x" * 64 + "@e.org", "x" * 65 + "@e.org", "a+b@x.org", "o'neil@x.ie", "a@x.test",
             "a@example.com.", "a@123.123.123.123", "a@[1.2.3.4]", "a@xn--bcher-kva.example", "\"a b\"@x.org",
             "a@b_c.org", "a@" + "b" * 64 + ".org", "a@x.onion", " a@x.org ", "a@x.c", "a@x.123", "jörg@x.de",
             "a@" + ".".join(["b" * 60] * 4) + ".org", "a/b=c?d@x.org", "a@x.org\n", "@x.org", "a@"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_plain_addresses_validate_as_email_validator_does(address):
    try:
        expected = validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        got = normalise_email(address)
    except InvalidAddress:
        got = None
    assert got == expected


def test_filters_from_query_read_times_one_way():
    """Every front door's filters: a time without an offset is UTC, a given offset honoured."""
    from datetime import UTC, datetime

    f = search.Filters.from_query({"q": "  ann ", "created_from": "2026-11-26T08:00+05:00",
                                   "created_to": "2026-11-27"})
    assert f.q == "ann"
    assert f.created_from == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert f.created_to == datetime(2026, 11, 27, tzinfo=UTC)
    for bad in ({"created_from": "yesterday"}, {"created_to": "0001-01-01T00:00:00+05:00"}):
        with pytest.raises(InvalidInput):
            search.Filters.from_query(bad)


def test_ids_from_query_strings():
    from newsletter.lookups import MAX_ID, parse_id

    assert parse_id("", "before") is None and parse_id(str(MAX_ID), "before") == MAX_ID
    for bad in ("0", "-1", str(MAX_ID + 1), "1e3", "١٢", "x"):
        with pytest.raises(InvalidInput):
            parse_id(bad, "before")
