"""Garbage posted to the bounce intake: stored as unreadable (202, status failed), and the
log, configured as `newsletter web` configures it, says so in single lines with no
traceback (flufl.bounce's detectors log their own exceptions on such input)."""
from __future__ import annotations

import io
import json
import logging
import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport
from newsletter.logs import QUIET_TRACEBACKS, configure_logging

SECRET = "relay-shared-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}
GARBAGE = [b"garbage", bytes(range(256)) * 4, b"\x00" * 100,
           b"From:\r\nContent-Type: multipart/report; boundary=b\r\n\r\n--b\r\n\xff\xfe\r\n--b--",
           b'Content-Type: text/plain; charset="\xff"\r\n\r\nx', b"=?utf-8?b?////?=: x\r\n\r\n"]  # detectors fail


@pytest.fixture
def web_settings(web_settings):
    web_settings.bounce_webhook_secret = SECRET
    web_settings.log_format = "json"
    return web_settings


@pytest.fixture
def log_lines(web_settings):
    configure_logging(web_settings)
    stream = io.StringIO()
    for handler in logging.getLogger().handlers:
        handler.setStream(stream)
    yield stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for name in QUIET_TRACEBACKS:
        logging.getLogger(name).filters.clear()
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_garbage_is_stored_unreadable_and_logged_without_a_traceback(server, http, engine, log_lines):
    rnd = random.Random(3)
    bodies = GARBAGE + [bytes(rnd.randrange(256) for _ in range(rnd.randrange(20, 2000))) for _ in range(40)]
    for body in bodies:
        answer = http.post("/bounces/inbound", content=body, headers=AUTH)
        assert answer.status_code in (200, 202), answer.text
    with Session(engine) as s:
        statuses = set(s.scalars(select(BounceReport.status)))
    assert statuses == {"failed"}  # kept, unreadable, for `newsletter bounces reprocess`
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert lines and not [e for e in lines if "exception" in e or "Traceback" in e["message"]]
    detectors = [e for e in lines if e["logger"] == "flufl.bounce"]
    assert detectors and all(e["level"] == "WARNING" and "\n" not in e["message"] for e in detectors)
