"""Outgoing webhooks in the console: admins only; a bad or private URL refused with the
problem (400, nothing made); the secret shown once; the log of the last attempts with
their status codes, a 500 and then the 200 of its retry."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.jobs import InlineDispatcher
from newsletter.subscribers.service import add_subscriber
from newsletter.webhooks import deliver
from tests.integration.web.console_helpers import csrf_of, sign_in
from tests.integration.web.staff_helpers import fingerprint, make_staff
from tests.integration.webhook_receiver import Receiver


def test_admins_register_an_endpoint_and_read_its_log(engine, web_settings, publication, server):
    receiver = Receiver().start()
    try:
        make_staff(engine, web_settings)
        operator, _ = sign_in(server, "operator@staff.example.org")
        assert operator.get("/admin/webhooks").status_code == 403
        http, csrf = sign_in(server, "admin@staff.example.org")
        page = http.get("/admin/webhooks")
        assert page.status_code == 200 and "No endpoints yet" in page.text
        before = fingerprint(engine)
        refused = http.post("/admin/webhooks", data={"csrf": csrf, "url": receiver.url, "events": ["subscribed"]})
        assert refused.status_code == 400 and "loopback address" in refused.text
        bad = http.post("/admin/webhooks", data={"csrf": csrf, "url": "ftp://example.org/x", "events": ["subscribed"]})
        assert bad.status_code == 400 and "must be an http:// or https:// URL" in bad.text
        assert fingerprint(engine) == before

        web_settings.webhooks_allow_private = True  # the server reads the same settings object
        made = http.post("/admin/webhooks", data={"csrf": csrf, "url": receiver.url, "description": "CRM",
                                                  "events": ["subscribed", "unsubscribed"]})
        assert made.status_code == 200
        secret = re.search(r'id="secret">([^<]+)<', made.text).group(1)
        assert secret.startswith("whsec_") and secret not in http.get("/admin/webhooks").text  # shown once

        with Session(engine) as s:
            add_subscriber(s, s.merge(publication), "ann@example.org", "Ann")
            s.commit()
        receiver.answers = [500]
        InlineDispatcher(web_settings).deliver_webhooks()
        deliver.deliver_due(engine, web_settings, utcnow() + timedelta(seconds=deliver.backoff(web_settings, 1) + 1))
        assert [status for _, _, status in receiver.received] == [500, 200]
        log = http.get("/admin/webhooks").text
        codes = re.findall(r'class="status-code">(\w+)', log)
        assert codes == ["200", "500"]  # newest first
        assert "1 delivered" in log and "subscribed" in log

        page = http.get("/admin/webhooks")
        paused = http.post(re.search(r'action="(/admin/webhooks/\d+/pause)"', page.text).group(1),
                           data={"csrf": csrf_of(page.text)})
        assert paused.status_code == 303 and "paused" in http.get("/admin/webhooks").text
    finally:
        receiver.stop()
