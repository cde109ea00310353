"""Issue 20, item 1, over the API on SQLite and PostgreSQL: the editors' desk for an
operator (drop, pin, move, edit, add, undo; a takedown after the send, which says the
emails cannot be recalled), audited; a viewer cannot curate, nor can an editor whose
role is for another publication (to them the edition does not exist); bad input is a
problem document and changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition, EditionEdit, EditionItem
from newsletter.staff import accounts, api_tokens
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from tests.helpers import add_article
from tests.integration.web.console_helpers import load, publications_file
from tests.integration.web.site import deliver_today
from tests.integration.web.staff_helpers import PASSWORD, client, fingerprint, make_staff

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def built_edition(engine, publication_id: int) -> int:
    """An edition of three stories in two sections, not sent."""
    now = utcnow()
    with Session(engine) as s:
        arts = [add_article(s, slug, headline, now - timedelta(hours=n + 1)) for n, (slug, headline) in enumerate(
            [("superpowers", "Alpha"), ("superpowers", "Beta"), ("drone-war", "Gamma"), ("drone-war", "Extra")])]
        e = Edition(publication_id=publication_id, date=now.date() + timedelta(days=3), status="built",
                    window_start=now - timedelta(days=1), window_end=now, items=[
                        EditionItem(position=n, section_slug=a.section.slug, section_name=a.section.name,
                                    article_id=a.id, url=a.url, headline=a.headline, teaser=a.teaser,
                                    published_at=a.published_at) for n, a in enumerate(arts[:3])])
        s.add(e)
        s.commit()
        return e.id, arts[3].id


@pytest.fixture
def desk(engine, web_settings, publication, server, tmp_path):
    sent = deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    load(engine, publications_file(tmp_path, weekly=True))
    built, extra = built_edition(engine, publication.id)
    staff = make_staff(engine, web_settings)
    with Session(engine) as s:  # an operator of the weekly only
        other = accounts.add(s, cli_actor(), web_settings.signing_key(), "weekly@staff.example.org", "operator",
                             PASSWORD).account
        accounts.set_publications(s, cli_actor(), other.id, ["spacewar-weekly"])
        _, raw = api_tokens.create(s, cli_actor(), "weekly token", None, other.id)
        s.commit()
    clients = {role: client(server, staff.tokens[role]) for role in ("viewer", "operator")}
    clients["weekly"] = client(server, raw)
    yield {"sent": sent, "built": built, "extra": extra}, clients
    for c in clients.values():
        c.close()


@both
def test_an_operator_curates_and_takes_down(engine, desk):
    ids, api = desk
    op, built = api["operator"], ids["built"]
    url = f"/api/v1/editions/{built}/changes"
    assert [i["headline"] for i in op.get(f"/api/v1/editions/{built}/desk").json()["items"]] == [
        "Alpha", "Beta", "Gamma"]
    assert op.post(url, json={"kind": "drop", "item": "1"}).status_code == 201
    assert op.post(url, json={"kind": "pin", "item": "2", "scope": "edition"}).status_code == 201  # Gamma
    assert op.post(url, json={"kind": "edit", "item": "2", "headline": "Beta, better"}).status_code == 201
    assert op.post(url, json={"kind": "add", "article_id": ids["extra"], "section": "superpowers"}).status_code == 201
    answer = op.post(url, json={"kind": "move", "item": "3", "section": "superpowers", "rank": 1})  # Extra
    assert answer.status_code == 201, answer.text
    d = answer.json()
    assert [(i["section"], i["headline"], i["pinned"]) for i in d["items"]] == [
        ("drone-war", "Gamma", "edition"), ("superpowers", "Extra", None), ("superpowers", "Beta, better", None)]
    assert [c["kind"] for c in d["changes"]] == ["drop", "pin", "edit", "add", "move"]
    undone = op.delete(f"{url}/{d['changes'][0]['id']}").json()  # Alpha back
    assert "Alpha" in [i["headline"] for i in undone["items"]]

    before = fingerprint(engine)
    for body, status in (({"kind": "drop", "item": "99"}, 404), ({"kind": "burn", "item": "1"}, 400),
                         ({"kind": "move", "item": "1", "section": "nowhere"}, 400),
                         ({"kind": "edit", "item": "1", "headline": "a\x1bb"}, 400),
                         ({"kind": "add", "url": "ftp://x"}, 400)):
        answer = op.post(url, json=body)
        assert answer.status_code in (status, 422), (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert fingerprint(engine) == before  # nothing changed, not even the audit
    sent = ids["sent"]
    answer = op.post(f"/api/v1/editions/{sent}/changes", json={"kind": "drop", "item": "1"})
    assert answer.status_code == 409 and "takedown" in answer.json()["detail"]
    assert op.post(f"/api/v1/editions/{built}/takedown", json={"item": "1"}).status_code == 409
    answer = op.post(f"/api/v1/editions/{sent}/takedown", json={"item": "1"})
    assert answer.status_code == 200 and "cannot be recalled" in answer.json()["message"]
    assert len(op.get(f"/api/v1/editions/{sent}/desk").json()["items"]) == 3  # of 4
    with Session(engine) as s:
        acts = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.action.startswith("edition.")))]
    assert acts == ["edition.curate.drop", "edition.curate.pin", "edition.curate.edit", "edition.curate.add",
                    "edition.curate.move", "edition.curate.undo", "edition.takedown"]


@both
def test_a_viewer_and_an_editor_of_another_publication_cannot_curate(engine, desk):
    ids, api = desk
    before = fingerprint(engine)
    for who, status in (("viewer", 403), ("weekly", 404)):
        for eid, path, body in ((ids["built"], "changes", {"kind": "drop", "item": "1"}),
                                (ids["sent"], "takedown", {"item": "1"})):
            answer = api[who].post(f"/api/v1/editions/{eid}/{path}", json=body)
            assert answer.status_code == status, (who, path, answer.text)
    assert api["viewer"].get(f"/api/v1/editions/{ids['built']}/desk").status_code == 200  # reading is theirs
    assert api["weekly"].get(f"/api/v1/editions/{ids['built']}/desk").status_code == 404
    assert fingerprint(engine) == before
    with Session(engine) as s:
        assert s.scalar(select(EditionEdit.id)) is None
