"""Providers post signed bounce and complaint events to a real uvicorn server: each
correctly signed event acts by the same rules as a mailed report; a tampered or unsigned
one is a 401 and changes nothing; a replayed one changes nothing twice. Amazon SNS's
signing certificate (one the test makes) is served by a real HTTP server on loopback,
which the allow-list trusts in this test only."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport, WebhookToken
from newsletter.subscribers.models import Subscription, Suppression
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver
from tests.provider_events import (
    TOPIC,
    SendGridSigner,
    SnsSigner,
    basic,
    mailgun_failed,
    mailgun_request,
    postmark_bounce,
    sendgrid_event,
    ses_bounce,
    ses_complaint,
    sns_notification,
    sns_subscription,
)

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)

PM_USER, PM_PASSWORD = "postmark", "postmark-webhook-password-0123"
MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"
SPAM = "smtp; 550 5.7.1 [198.51.100.7] Our system has detected that this message is likely unsolicited mail"


class CertificateHost:
    """What SNS's host serves: the signing certificate, and the URL that confirms a subscription."""

    def __init__(self, pem: bytes):
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append(self.path)
                body = pem if self.path == "/cert.pem" else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def sns_signer():
    return SnsSigner()


@pytest.fixture(scope="module")
def sendgrid_signer():
    return SendGridSigner()


@pytest.fixture
def cert_host(sns_signer):
    host = CertificateHost(sns_signer.pem)
    yield host
    host.httpd.shutdown()


@pytest.fixture
def web_settings(web_settings, cert_host, sendgrid_signer):
    s = web_settings
    s.ses_topic_arns, s.sns_extra_urls = TOPIC, cert_host.url  # production trusts SNS's hosts only
    s.postmark_webhook_username, s.postmark_webhook_password = PM_USER, PM_PASSWORD
    s.sendgrid_webhook_public_key = sendgrid_signer.public
    s.mailgun_webhook_signing_key = MAILGUN_KEY
    return s


def people(engine, *sent):
    """(subscription status, global suppression, unsubscribe methods) of each, and the count of
    every event and report: what a request could change."""
    with Session(engine) as s:
        states = [(s.scalar(select(Subscription.status).where(Subscription.subscriber_id == m.subscriber_id)),
                   s.scalar(select(Suppression.reason).where(Suppression.email == m.email,
                                                             Suppression.publication_id.is_(None))),
                   set(s.scalars(select(Event.method).where(Event.subscriber_id == m.subscriber_id,
                                                            Event.kind == "unsubscribe"))))
                  for m in sent]
        return states, s.scalar(select(func.count(Event.id))), s.scalar(select(func.count(BounceReport.id)))


def refused(response, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_amazon_ses_through_sns(server, http, engine, web_settings, publication, sns_signer, cert_host):
    hard, spam, complained = deliver(engine, web_settings, publication,
                                     ["hard@example.org", "spam@example.org", "complained@example.org"])
    cert = cert_host.url + "cert.pem"

    def post(message: dict, version: str = "2", sign: bool = True):
        body = sns_signer.sign(message, cert, version) if sign else message
        return http.post("/bounces/ses", content=json.dumps(body),
                         headers={"Content-Type": "text/plain; charset=UTF-8",
                                  "x-amz-sns-message-type": message["Type"]})

    # The subscription confirms itself, through the SubscribeURL on (what stands for) SNS's host.
    r = post(sns_subscription(cert_host.url + "confirm?Action=ConfirmSubscription&Token=t1"))
    assert r.status_code == 200 and r.json() == {"status": "subscription confirmed"}
    assert "/confirm?Action=ConfirmSubscription&Token=t1" in cert_host.requests

    before = people(engine, hard, spam, complained)
    notification = sns_notification(ses_bounce(hard.email, source=hard.verp, message_id=hard.message_id))
    signed = sns_signer.sign(notification, cert, "1")
    tampered = {**signed, "Message": signed["Message"].replace("hard@", "spam@")}
    refused(http.post("/bounces/ses", content=json.dumps(tampered)))
    refused(post(notification, sign=False))
    refused(post({**notification, "SigningCertURL": "https://evil.example/cert.pem"}, sign=False))
    assert people(engine, hard, spam, complained) == before  # nothing stored, nobody moved

    r = http.post("/bounces/ses", content=json.dumps(signed))
    assert r.status_code == 202 and len(r.json()["stored"]) == 1
    r = post(sns_notification(ses_bounce(spam.email, status="5.7.1", diagnostic=SPAM, source=spam.verp)))
    assert r.status_code == 202
    assert post(sns_notification(ses_complaint(complained.email, source=complained.verp))).status_code == 202
    after = people(engine, hard, spam, complained)
    assert after[0] == [("unsubscribed", "hard_bounce", {"bounce"}), ("active", None, set()),
                        ("unsubscribed", "complaint", {"complaint"})]
    with Session(engine) as s:
        report = s.scalar(select(BounceReport).where(BounceReport.recipient == hard.email))
        assert (report.provider, report.source, report.matched_by, report.delivery_id) == (
            "ses", "webhook:ses", "verp", hard.delivery_id)
        assert json.loads(report.raw) == signed  # stored as it came

    # SNS delivers again (the same MessageId, however serialised): stored once, acted once.
    again = http.post("/bounces/ses", content=json.dumps(signed, indent=2))
    assert again.status_code == 200 and again.json() == {"stored": [], "known": 1}
    assert people(engine, hard, spam, complained) == after
    assert cert_host.requests.count("/cert.pem") == 1  # fetched once, kept

    foreign = sns_notification(ses_bounce(spam.email), topic=TOPIC + "-of-someone-else")
    refused(post(foreign), 403)
    web_settings.ses_topic_arns = ""
    assert post(sns_notification(ses_bounce(spam.email))).status_code == 404


def test_postmark(server, http, engine, web_settings, publication):
    hard, spam, complained = deliver(engine, web_settings, publication,
                                     ["hard@example.org", "spam@example.org", "complained@example.org"])
    auth = {"Authorization": basic(PM_USER, PM_PASSWORD)}
    event = json.dumps(postmark_bounce(hard.email)).encode()
    before = people(engine, hard, spam, complained)
    for headers in ({}, {"Authorization": basic(PM_USER, PM_PASSWORD + "x")}, {"Authorization": basic("x", "y")},
                    {"Authorization": f"Bearer {PM_PASSWORD}"}):
        r = http.post("/bounces/postmark", content=event, headers=headers)
        refused(r)
        assert r.headers["www-authenticate"].startswith("Basic")
    assert people(engine, hard, spam, complained) == before

    assert http.post("/bounces/postmark", content=event, headers=auth).status_code == 202
    assert http.post("/bounces/postmark", content=json.dumps(postmark_bounce(spam.email, details=SPAM)),
                     headers=auth).status_code == 202
    complaint = postmark_bounce(complained.email, "SpamComplaint", "", record="SpamComplaint")
    assert http.post("/bounces/postmark", content=json.dumps(complaint), headers=auth).status_code == 202
    after = people(engine, hard, spam, complained)
    assert after[0] == [("unsubscribed", "hard_bounce", {"bounce"}), ("active", None, set()),
                        ("unsubscribed", "complaint", {"complaint"})]
    r = http.post("/bounces/postmark", content=event, headers=auth)
    assert r.status_code == 200 and r.json()["known"] == 1
    assert people(engine, hard, spam, complained) == after
    refused(http.post("/bounces/postmark", content=b"{not json", headers=auth), 400)
    assert http.post("/bounces/postmark", content=json.dumps({"RecordType": "Open", "ID": 5}),
                     headers=auth).json() == {"stored": [], "known": 0}


def test_sendgrid(server, http, engine, web_settings, publication, sendgrid_signer):
    hard, complained, opened, deferred = deliver(
        engine, web_settings, publication,
        ["hard@example.org", "complained@example.org", "opened@example.org", "deferred@example.org"])
    body = json.dumps([sendgrid_event(hard.email, **{"smtp-id": hard.message_id}),
                       sendgrid_event(complained.email, "spamreport"),
                       sendgrid_event(opened.email, "open"),
                       sendgrid_event(deferred.email, "deferred", response="421 4.7.0 try again later")]).encode()
    headers = sendgrid_signer.headers(body)
    before = people(engine, hard, complained, opened, deferred)
    refused(http.post("/bounces/sendgrid", content=body.replace(b"hard@", b"open@"), headers=headers))
    refused(http.post("/bounces/sendgrid", content=body, headers={"Content-Type": "application/json"}))
    other = SendGridSigner().headers(body, headers["X-Twilio-Email-Event-Webhook-Timestamp"])
    refused(http.post("/bounces/sendgrid", content=body, headers=other))
    assert people(engine, hard, complained, opened, deferred) == before

    r = http.post("/bounces/sendgrid", content=body, headers=headers)
    assert r.status_code == 202 and len(r.json()["stored"]) == 3  # the open is not kept
    after = people(engine, hard, complained, opened, deferred)
    assert after[0] == [("unsubscribed", "hard_bounce", {"bounce"}), ("unsubscribed", "complaint", {"complaint"}),
                        ("active", None, set()), ("active", None, set())]
    with Session(engine) as s:
        assert s.scalar(select(BounceReport.matched_by).where(BounceReport.recipient == hard.email)) == "message-id"
    replay = http.post("/bounces/sendgrid", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"stored": [], "known": 3}
    assert people(engine, hard, complained, opened, deferred) == after


def test_mailgun(server, http, engine, web_settings, publication):
    hard, spam, other = deliver(engine, web_settings, publication,
                                ["hard@example.org", "spam@example.org", "other@example.org"])
    request = mailgun_request(MAILGUN_KEY, mailgun_failed(hard.email, message_id=hard.message_id, sender=hard.verp))
    before = people(engine, hard, spam, other)
    bad_signature = {**request, "signature": {**request["signature"], "signature": "0" * 64}}
    stale = mailgun_request(MAILGUN_KEY, mailgun_failed(hard.email), timestamp=1_700_000_000)
    for body in (bad_signature, stale, {"event-data": request["event-data"]},
                 mailgun_request("another-key-0123456789", mailgun_failed(hard.email))):
        refused(http.post("/bounces/mailgun", json=body))
    assert people(engine, hard, spam, other) == before

    assert http.post("/bounces/mailgun", json=request).status_code == 202
    spam_event = mailgun_failed(spam.email, message="5.7.1 Message rejected as spam", sender=spam.verp)
    assert http.post("/bounces/mailgun", json=mailgun_request(MAILGUN_KEY, spam_event)).status_code == 202
    after = people(engine, hard, spam, other)
    assert after[0] == [("unsubscribed", "hard_bounce", {"bounce"}), ("active", None, set()),
                        ("active", None, set())]
    # The signature covers the timestamp and the token, not the event: a captured request
    # sent again, as it was or with another event, is refused by its token.
    refused(http.post("/bounces/mailgun", json=request))
    refused(http.post("/bounces/mailgun", json={**request, "event-data": mailgun_failed(other.email)}))
    assert people(engine, hard, spam, other) == after
    with Session(engine) as s:
        assert s.scalar(select(func.count(WebhookToken.id))) == 2


def test_endpoints_exist_only_when_configured(server, http, web_settings):
    web_settings.postmark_webhook_username = web_settings.postmark_webhook_password = ""
    web_settings.sendgrid_webhook_public_key = web_settings.mailgun_webhook_signing_key = ""
    web_settings.ses_topic_arns = ""
    for provider in ("ses", "postmark", "sendgrid", "mailgun"):
        r = http.post(f"/bounces/{provider}", content=b"{}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", provider
