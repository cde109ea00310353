"""SpamAssassin's rules over the messages we send, offline (-L: no network tests).

Only the informational rules (and the ones about authentication, which belong to the
relay and DKIM, not to the message's structure) may fire: no low-contrast or hidden
text, a text part that matches the HTML, no shouting, nothing about the HTML's shape.
"""
from __future__ import annotations

import re
import shutil
import subprocess

from newsletter.db import utcnow
from newsletter.delivery.compose import Composer, Recipient
from newsletter.demo import sample_articles
from newsletter.editions.build import build_edition, window_for
from newsletter.ingest.load import store_records
from newsletter.publications.schedule import local_date
from newsletter.render.emails import render_email
from newsletter.render.message import build_message

INFORMATIONAL = {"NO_RECEIVED", "NO_RELAYS", "HTML_MESSAGE", "MAILING_LIST_MULTI"}
AUTHENTICATION = re.compile(r"^(T_)?(DKIM|SPF|DMARC)_")


def rules_hit(message: bytes) -> set[str]:
    binary = shutil.which("spamassassin")
    assert binary, "SpamAssassin is not installed (tools/test-env.sh installs it)"
    out = subprocess.run([binary, "-t", "-L"], input=message, capture_output=True, timeout=300,
                         check=False).stdout.decode("utf-8", "replace")
    table = out.split("Content analysis details:", 1)[1]
    return set(re.findall(r"^\s*-?\d+(?:\.\d+)?\s+([A-Z0-9_]+)\s", table, re.M))


def structural(rules: set[str]) -> set[str]:
    return {r for r in rules if r not in INFORMATIONAL and not AUTHENTICATION.match(r)}


def test_the_edition_and_the_confirmation_raise_no_structural_rule(session, settings, publication):
    settings.web_base_url = "https://news.example.com"
    now = utcnow()
    day = local_date(publication.timezone, now)
    store_records(session, sample_articles(window_for(session, publication, day, now)[1]))
    edition, _ = build_edition(session, publication, day, now)
    session.commit()
    composer = Composer(settings, edition, publication)
    digest = composer.compose(Recipient(1, "ann@example.org", "Ann Reader", None), now).data
    hit = rules_hit(digest)
    assert "HTML_MESSAGE" in hit  # the rules ran over the HTML part
    assert structural(hit) == set()

    email = render_email("confirm", {"confirm_url": "https://news.example.com/confirm/TOKEN"},
                         publication, settings)
    confirmation = build_message(
        sender_name=publication.sender_name, sender_address=publication.sender_address,
        to_name="Ann Reader", to_address="ann@example.org", subject=email.subject, text=email.text,
        html=email.html, msg_id="<confirm.1@spacewar.example.com>", date=now, bulk=False)
    assert structural(rules_hit(confirmation)) == set()
