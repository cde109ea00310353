"""A publication made in the console, in Chromium: its next five sends shown as the cron
is typed, bad input refused with the file's own problems (400, nothing changed), and
then it sends on its schedule through the scheduler's due path (an injected clock), to
the outbox. `publications export` of it round-trips through `publications load`."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition
from newsletter.publications.load import apply_publications_file
from newsletter.publications.models import Publication
from newsletter.publications.schedule import next_send_times
from newsletter.scheduler import Scheduler
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article
from tests.integration.web.console_helpers import csrf_of, sign_in
from tests.integration.web.readers import outbox_messages
from tests.integration.web.staff_helpers import PASSWORD, fingerprint, make_staff

CRON, ZONE = "15 17 * * *", "Europe/Paris"
FIELDS = {"slug": "evening", "name": "Evening Wire", "sections": "drone-war, superpowers",
          "sender_name": "Evening Wire", "sender_address": "evening@spacewar.example.com",
          "list_id": "Evening Wire <evening.spacewar.example.com>", "postal_address": "1 Orbit Way, Canberra"}


def test_a_publication_made_in_the_console_sends_on_its_schedule(browser, engine, web_settings, publication,
                                                                 server, tmp_path):
    staff = make_staff(engine, web_settings)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/admin/publications")
    page.fill("#email", staff.email("admin"))
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.click("#new-publication")
    for name, value in FIELDS.items():
        page.fill(f"#{name}", value)
    page.fill("#timezone", ZONE)
    page.fill("#schedule", "0 6,18 * * *")  # twice a day: the file would refuse it, and so does the preview
    page.wait_for_selector("#schedule-problem:not([hidden])")
    assert "fires more than once a day" in page.inner_text("#schedule-problem")
    page.fill("#schedule", CRON)
    expected = [f"{t:%Y-%m-%d %H:%M} UTC" for t in next_send_times(CRON, ZONE, utcnow(), 5)]
    page.wait_for_selector(f"#next-sends li:first-child:text-is('{expected[0]}')")
    assert page.inner_text("#next-sends").split("\n") == expected
    page.click("#save")
    page.wait_for_selector("#managed-by")
    assert "Managed by the console" in page.inner_text("#managed-by") and "/evening/edit?done=created" in page.url
    page.close()

    with Session(engine) as s:
        pub = s.scalar(select(Publication).where(Publication.slug == "evening"))
        assert (pub.schedule_cron, pub.timezone, pub.managed_by) == (CRON, ZONE, "console")
        assert [x.slug for x in pub.ordered_sections()] == ["drone-war", "superpowers"]
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.target == f"publication:{pub.id}")) \
            == "publication.create"
        add_subscriber(s, pub, "eve@example.org", "Eve", None)
        due = next_send_times(CRON, ZONE, utcnow(), 1)[0]
        add_article(s, "drone-war", "Drones over the evening", due - timedelta(hours=2))
        s.commit()
        pub_id = pub.id

    clock = {"now": due - timedelta(minutes=5)}
    scheduler = Scheduler(web_settings, clock=lambda: clock["now"],
                          backend=OutboxBackend(web_settings.effective_outbox_dir))
    assert scheduler.dispatch() == []  # not yet
    clock["now"] = due + timedelta(minutes=1)
    started = scheduler.dispatch()
    scheduler.work()
    assert len(started) == 1
    with Session(engine) as s:
        edition = s.get(Edition, started[0])
        assert (edition.status, edition.publication_id) == ("sent", pub_id)
    (msg,) = [m for m in outbox_messages(web_settings) if m["To"].addresses[0].addr_spec == "eve@example.org"
              and m["List-Id"] == FIELDS["list_id"]]
    assert "Drones over the evening" in msg.get_body(("plain",)).get_content()


def test_bad_input_is_a_400_with_the_problems_and_changes_nothing(engine, web_settings, publication, server):
    make_staff(engine, web_settings)
    http, csrf = sign_in(server, "admin@staff.example.org")
    before = fingerprint(engine)
    bad = {**FIELDS, "schedule": "0 6 31 2 *", "timezone": "Mars/Olympus", "sections": "drone-war, nowhere",
           "cap_per_section": "5", "domain_rate_per_second": "0", "csrf": csrf, "action": "save"}
    answer = http.post("/admin/publications/new", data=bad)
    assert answer.status_code == 400
    assert "never fires" in answer.text and "unknown IANA time zone: &#39;Mars/Olympus&#39;" in answer.text
    assert "unknown sections &#39;nowhere&#39;" in answer.text
    assert fingerprint(engine) == before
    # A publication of the file is not the console's to change until taken over.
    page = http.get(f"/admin/publications/{publication.slug}/edit")
    assert "Managed by <strong>the publications file</strong>" in page.text
    answer = http.post(f"/admin/publications/{publication.slug}/edit",
                       data={**FIELDS, "slug": publication.slug, "csrf": csrf_of(page.text), "action": "save",
                             "schedule": CRON, "timezone": ZONE})
    assert answer.status_code == 409 and "take it over" in answer.text
    assert fingerprint(engine) == before
    # Without JavaScript, "Show next sends" answers with the five under the form, saving nothing.
    shown = http.post("/admin/publications/new", data={**FIELDS, "schedule": CRON, "timezone": ZONE,
                                                       "csrf": csrf, "action": "preview"})
    assert shown.status_code == 200 and shown.text.count("<li>") >= 5
    assert f"{next_send_times(CRON, ZONE, utcnow(), 1)[0]:%Y-%m-%d %H:%M} UTC" in shown.text
    assert fingerprint(engine) == before


def test_export_of_a_console_publication_round_trips_through_load(engine, web_settings, publication, server,
                                                                  tmp_path):
    from newsletter.publications.file_form import database_form, export_text

    make_staff(engine, web_settings)
    http, csrf = sign_in(server, "admin@staff.example.org")
    answer = http.post("/admin/publications/new", data={**FIELDS, "schedule": CRON, "timezone": ZONE,
                                                        "cap_per_section": "4", "domain_rate_per_second": "0",
                                                        "csrf": csrf, "action": "save", "verp": "on"})
    assert answer.status_code == 303, answer.text
    with Session(engine) as s:
        exported, form = export_text(s), database_form(s)
    path = tmp_path / "exported.toml"
    path.write_text(exported)
    with Session(engine) as s:  # the same database: the console's publication is skipped, the file's reloaded
        result = apply_publications_file(s, path)
        assert [p.slug for p in result.loaded] == [publication.slug]
        assert result.skipped and "'evening'" in result.skipped[0]
        s.flush()
        assert database_form(s) == form


def test_the_api_creates_and_edits_with_the_same_rules(engine, web_settings, publication, server):
    from tests.integration.web.staff_helpers import client

    staff = make_staff(engine, web_settings)
    admin, operator = client(server, staff.tokens["admin"]), client(server, staff.tokens["operator"])
    entry = {**FIELDS, "sections": ["drone-war"], "schedule": CRON, "timezone": ZONE}
    before = fingerprint(engine)
    assert operator.post("/api/v1/publications", json=entry).status_code == 403
    bad = admin.post("/api/v1/publications", json={**entry, "schedule": "* * * * *"})
    assert bad.status_code == 400 and "fires more than once a day" in bad.json()["detail"]
    assert fingerprint(engine) == before
    assert admin.post("/api/v1/publications", json=entry).status_code == 201
    got = admin.get("/api/v1/publications/evening/settings").json()
    assert got["managed_by"] == "console" and got["entry"]["sections"] == ["drone-war"]
    changed = admin.put("/api/v1/publications/evening/settings", json={**got["entry"], "cap_per_section": 2})
    assert changed.json()["changed"] == ["cap_per_section"]
    assert admin.put(f"/api/v1/publications/{publication.slug}/settings", json=entry).status_code == 409
