"""The real `newsletter web` process: its access log never shows a subscriber's token,
in text or JSON, and JSON mode writes one JSON object per line."""
from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy.orm import Session

from newsletter import runtime
from newsletter.config import Settings, sample_file
from newsletter.links import Links
from newsletter.publications.load import load_publications
from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.service import add_subscriber
from tests.command_line import CommandLine
from tests.integration.servers import free_port, wait_for

SECRET = "log-test-secret"
PASSWORD = "hunter2-do-not-log"
RELAY_SECRET = "relay-secret-do-not-log-0123"
API_TOKEN = "nlt_q3V-x_9LbZk2mT0aYw8e1RfHcJ4sUoPn6iDgE5vKtQ"
KEYS = {"csrf": "csrf-do-not-log", "api_key": "apikey-do-not-log", "key": "key-do-not-log",
        "session": "session-do-not-log"}


def _tokens(tmp_path) -> dict[str, str]:
    """A real subscriber in the database the web will serve, and its live tokens."""
    settings = Settings(var_dir=tmp_path / "var", secret_key=SECRET)
    with Session(runtime.engine_for(settings)) as s:
        pub = load_publications(s, sample_file("publications.toml"))[0]
        sub = add_subscriber(s, pub, "ann@example.org", "Ann")
        sub.confirm_nonce = 1  # a confirmation waits: the confirm page answers 200
        s.commit()
        key = s.get(Subscriber, sub.subscriber_id).token_key
        tokens = Links.from_settings(settings).tokens
        mailto = tokens.mailto_unsubscribe_address(sub.subscriber_id, key, pub.id, None, pub.effective_bounce_domain)
        return {"unsubscribe": tokens.unsubscribe(sub.subscriber_id, key, pub.id, None),
                "preferences": tokens.preferences(sub.subscriber_id, key),
                "confirm": tokens.confirm(sub.id, key, 1),
                "mailto": mailto.partition("@")[0].removeprefix("unsubscribe+")}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_access_log_redacts_tokens(tmp_path, log_format):
    tokens = _tokens(tmp_path)
    port = free_port()
    web = CommandLine(tmp_path, {"NEWSLETTER_VAR_DIR": str(tmp_path / "var"), "NEWSLETTER_SECRET_KEY": SECRET,
                                 "NEWSLETTER_LOG_FORMAT": log_format,
                                 "NEWSLETTER_BOUNCE_WEBHOOK_SECRET": RELAY_SECRET})
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = web.start("web", "--port", str(port), stdout=o, stderr=e)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz") or proc.poll() is not None, 60, what="the web to answer")
        assert proc.poll() is None, err.read_text()
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get(f"/u/{tokens['unsubscribe']}").status_code == 200  # the real page
            http.post(f"/u/{tokens['unsubscribe']}/reason", data={"reason": "x"})
            assert http.get(f"/preferences/{tokens['preferences']}?x=1").status_code == 200
            assert http.get(f"/confirm/{tokens['confirm']}").status_code == 200
            http.get(f"/editions/x?t={tokens['unsubscribe']}")
            http.get(f"/subscribe?token=abc123secret&password={PASSWORD}")
            http.get("/api/v1/subscribers", params={**KEYS, "q": API_TOKEN})
            http.get(f"/api/v1/tokens/{API_TOKEN}")
            # Mail to the mailto: unsubscribe address, posted by the relay with its envelope
            # recipient: processed after the answer (it logs what it did), token nowhere.
            mailto = f"unsubscribe+{tokens['mailto']}@spacewar.example.com"
            r = http.post("/bounces/inbound", params={"recipient": mailto},
                          content=f"From: ann@example.org\r\nTo: {mailto}\r\nSubject: unsubscribe\r\n\r\nx\r\n",
                          headers={"Authorization": f"Bearer {RELAY_SECRET}"})
            assert r.status_code == 202
            http.get("/healthz?last=1")
        # The access line is written after the answer: wait for the last one.
        wait_for(lambda: "/healthz?last=1" in out.read_text() + err.read_text(), 30,
                 what="the last access log line")
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    logged = out.read_text() + err.read_text()
    for token in [*tokens.values(), "abc123secret", PASSWORD, API_TOKEN, RELAY_SECRET, *KEYS.values()]:
        assert token not in logged
    assert "matched by mailto" in logged  # the request was processed and logged
    for path in ["/bounces/inbound?recipient=unsubscribe%2B[redacted]%40spacewar.example.com ",
                 "/u/[redacted] ", "/u/[redacted]/reason ", "/preferences/[redacted]?x=1 ", "/confirm/[redacted] ",
                 "/editions/x?t=[redacted] ", "/subscribe?token=[redacted]&password=[redacted] ",
                 "/api/v1/subscribers?csrf=[redacted]&api_key=[redacted]&key=[redacted]&session=[redacted]"
                 "&q=nlt_[redacted] ", "/api/v1/tokens/nlt_[redacted] "]:
        assert path in logged, f"{path!r} not in the access log:\n{logged}"

    lines = [line for line in err.read_text().splitlines() if line.strip()]
    access = [line for line in lines if "uvicorn.access" in line]
    assert len(access) >= 10
    if log_format == "json":
        events = [json.loads(line) for line in lines]  # every line, not only the access log
        assert all({"time", "level", "logger", "message"} <= event.keys() for event in events)
        assert any(e["logger"] == "uvicorn.error" and "Uvicorn running" in e["message"] for e in events)
    else:
        stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
        assert all(stamp.match(line) for line in lines), lines


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
