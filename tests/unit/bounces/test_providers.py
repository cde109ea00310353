"""What each provider's event means in our classes, conservatively: where the provider
gives a diagnostic our rule reads it, so a "permanent" refusal about policy or spam
suppresses nobody; the provider's own "temporary" is never hard; and how SNS messages
are verified."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.bounces import providers
from newsletter.bounces.parse import ReportUnreadable
from newsletter.bounces.providers import mailgun, postmark, sendgrid, ses
from newsletter.bounces.providers.common import Unauthorised, dump
from newsletter.bounces.providers.sns import Sns, on_sns_host
from newsletter.config import p256_public_key
from newsletter.errors import Forbidden, InvalidInput, Unavailable
from tests.provider_events import (
    TOPIC,
    SendGridSigner,
    SnsSigner,
    mailgun_complained,
    mailgun_failed,
    mailgun_request,
    postmark_bounce,
    sendgrid_event,
    ses_bounce,
    ses_complaint,
    sns_notification,
    sns_subscription,
)

R = "reader@example.org"
SPAM = "smtp; 550 5.7.1 [198.51.100.7] Our system has detected that this message is likely unsolicited mail"
SPAM_REASON = "550 5.7.1 Message rejected: likely spam"


def ses_raw(inner: dict) -> bytes:
    return json.dumps(sns_notification(inner)).encode()


CASES = [  # (what, provider, stored event, expected kind)
    ("ses permanent user unknown", "ses", ses_raw(ses_bounce(R)), "hard"),
    ("ses permanent, spam diagnostic", "ses", ses_raw(ses_bounce(R, status="5.7.1", diagnostic=SPAM)), "policy"),
    ("ses permanent general, nothing said", "ses", ses_raw(ses_bounce(R, status="", diagnostic="")), "soft"),
    ("ses NoEmail, nothing said", "ses", ses_raw(ses_bounce(R, subtype="NoEmail", status="", diagnostic="")), "hard"),
    ("ses transient user unknown", "ses", ses_raw(ses_bounce(R, bounce_type="Transient")), "soft"),
    ("ses transient mailbox full", "ses", ses_raw(ses_bounce(R, "Transient", "MailboxFull", "5.2.2",
                                                             "smtp; 552 5.2.2 mailbox full")), "soft"),
    ("ses content rejected", "ses", ses_raw(ses_bounce(R, "Transient", "ContentRejected", "5.1.1")), "policy"),
    ("ses complaint", "ses", ses_raw(ses_complaint(R)), "complaint"),
    ("ses complaint without a type", "ses", ses_raw(ses_complaint(R, None)), "complaint"),
    ("ses not-spam report", "ses", ses_raw(ses_complaint(R, "not-spam")), "other"),
    ("postmark hard", "postmark", json.dumps(postmark_bounce(R)).encode(), "hard"),
    ("postmark hard, spam details", "postmark", json.dumps(postmark_bounce(R, details=SPAM)).encode(), "policy"),
    ("postmark hard, no details", "postmark", json.dumps(postmark_bounce(R, details="")).encode(), "hard"),
    ("postmark soft", "postmark", json.dumps(postmark_bounce(R, "SoftBounce")).encode(), "soft"),
    ("postmark blocked", "postmark", json.dumps(postmark_bounce(R, "Blocked", "550 5.1.1 no")).encode(), "policy"),
    ("postmark auto-responder", "postmark", json.dumps(postmark_bounce(R, "AutoResponder", "")).encode(), "other"),
    ("postmark spam complaint", "postmark",
     json.dumps(postmark_bounce(R, "SpamComplaint", "", record="SpamComplaint")).encode(), "complaint"),
    ("sendgrid bounce", "sendgrid", dump(sendgrid_event(R)), "hard"),
    ("sendgrid bounce, spam reason", "sendgrid", dump(sendgrid_event(R, status="5.7.1", reason=SPAM_REASON,
                                                                     bounce_classification="Unclassified")), "policy"),
    ("sendgrid bounce classified reputation", "sendgrid",
     dump(sendgrid_event(R, bounce_classification="Reputation")), "policy"),
    ("sendgrid blocked", "sendgrid", dump(sendgrid_event(R, type="blocked")), "policy"),
    ("sendgrid dropped, their bounce list", "sendgrid", dump(sendgrid_event(R, "dropped", reason="Bounced Address")),
     "soft"),
    ("sendgrid dropped, their unsubscribes", "sendgrid",
     dump(sendgrid_event(R, "dropped", reason="Unsubscribed Address")), "other"),
    ("sendgrid spam report", "sendgrid", dump(sendgrid_event(R, "spamreport")), "complaint"),
    ("sendgrid deferred", "sendgrid", dump(sendgrid_event(R, "deferred", response="421 try later")), "delayed"),
    ("mailgun permanent", "mailgun", json.dumps(mailgun_request("k", mailgun_failed(R))).encode(), "hard"),
    ("mailgun permanent, spam", "mailgun",
     json.dumps(mailgun_request("k", mailgun_failed(R, message="5.7.1 rejected as spam"))).encode(), "policy"),
    ("mailgun temporary", "mailgun",
     json.dumps(mailgun_request("k", mailgun_failed(R, severity="temporary", code=450))).encode(), "delayed"),
    ("mailgun their bounce list", "mailgun", json.dumps(mailgun_request("k", mailgun_failed(
        R, reason="suppress-bounce", code=605, message="Not delivering to previously bounced address"))).encode(),
     "soft"),
    ("mailgun complained", "mailgun", json.dumps(mailgun_request("k", mailgun_complained(R))).encode(), "complaint"),
]


@pytest.mark.parametrize("provider, raw, kind", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_event_in_our_classes(provider, raw, kind):
    report = providers.read(provider, raw)
    assert report.report_type == provider
    assert [(r.address, r.kind) for r in report.recipients] == [(R, kind)]


def test_the_traces_of_our_message_are_kept_for_matching():
    mid, verp = "<edition.3.4.0123456789abcdef@spacewar.example.com>", "bounces+abc@bounces.example.com"
    report = providers.read("ses", ses_raw(ses_bounce(R, source=verp, message_id=mid)))
    assert (report.verp_candidates, report.message_ids) == ([verp], [mid])
    report = providers.read("mailgun", json.dumps(mailgun_request("k", mailgun_failed(
        R, message_id=mid, sender=verp))).encode())
    assert (report.verp_candidates, report.message_ids) == ([verp], [mid])
    assert providers.read("sendgrid", dump(sendgrid_event(R, **{"smtp-id": mid}))).message_ids == [mid]


@pytest.mark.parametrize("provider, raw", [
    ("ses", ses_raw({"notificationType": "Delivery", "mail": {}})), ("ses", b"[]"), ("ses", b"not json"),
    ("postmark", json.dumps({"RecordType": "Delivery", "Email": R}).encode()),
    ("sendgrid", dump({"event": "open", "email": R})), ("mailgun", b"{}"),
    ("ses", ses_raw(ses_bounce(""))),
])
def test_events_that_say_nothing_we_act_on_are_unreadable(provider, raw):
    with pytest.raises(ReportUnreadable):
        providers.read(provider, raw)


def test_only_the_events_we_act_on_are_kept():
    batch = [sendgrid_event(R), sendgrid_event(R, "open"), sendgrid_event(R, "delivered"),
             sendgrid_event(R, "spamreport")]
    kept = sendgrid.events(json.dumps(batch).encode())
    assert [json.loads(e.raw)["event"] for e in kept] == ["bounce", "spamreport"]
    assert [e.key for e in kept] == [batch[0]["sg_event_id"], batch[3]["sg_event_id"]]
    assert postmark.events(json.dumps({"RecordType": "Open", "ID": 1}).encode()) == []
    for bad in (b"{", b"{}", json.dumps([sendgrid_event("")]).encode()):
        with pytest.raises(InvalidInput):
            sendgrid.events(bad)


# SNS signatures

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"


class Fetches:
    def __init__(self, answers: dict[str, bytes]):
        self.answers, self.urls = answers, []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        if url not in self.answers:
            raise OSError("connection refused")
        return self.answers[url]


@pytest.fixture(scope="module")
def signer():
    return SnsSigner()


@pytest.mark.parametrize("url, ok", [
    (CERT_URL, True),
    ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem", True),
    ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem", False),
    ("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem", False),
    ("https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", False),
    ("https://sns.eu-west-1.amazonaws.com:8443/x.pem", False),
    ("https://user@sns.eu-west-1.amazonaws.com/x.pem", False),
    ("https://sqs.eu-west-1.amazonaws.com/x.pem", False),
    ("https://sns.eu-west-1.amazonaws.com/x.txt", False),
    ("https://sns.eu-west-1.amazonaws.com:notaport/x.pem", False),
])
def test_certificates_come_from_sns_hosts_only(url, ok):
    assert on_sns_host(url, ".pem") is ok


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_message_verifies_and_its_certificate_is_fetched_once(signer, version):
    fetch = Fetches({CERT_URL: signer.pem})
    sns = Sns(fetch=fetch)
    for _ in range(3):
        message = signer.sign(sns_notification(ses_bounce(R)), CERT_URL, version)
        assert ses.verify(json.dumps(message).encode(), sns, frozenset({TOPIC}))["Type"] == "Notification"
    assert fetch.urls == [CERT_URL]


def test_tampered_foreign_or_unsigned_messages_are_refused(signer):
    sns = Sns(fetch=Fetches({CERT_URL: signer.pem}))
    good = signer.sign(sns_notification(ses_bounce(R)), CERT_URL, "2")
    tampered = {**good, "Message": good["Message"].replace("5.1.1", "5.1.2")}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    for message in (tampered, unsigned, {**good, "SignatureVersion": "3"}, {**good, "Type": "Other"},
                    {**good, "TopicArn": TOPIC + "x"}, {**good, "Signature": "***"}):
        with pytest.raises(Unauthorised):
            ses.verify(json.dumps(message).encode(), sns, frozenset({TOPIC, TOPIC + "x"}))
    with pytest.raises(Forbidden):  # SNS signs anyone's topics: only ours are taken
        ses.verify(json.dumps(signer.sign(sns_notification(ses_bounce(R), topic=TOPIC + "-theirs"), CERT_URL))
                   .encode(), sns, frozenset({TOPIC}))


def test_a_certificate_elsewhere_is_never_fetched(signer):
    fetch = Fetches({})
    message = signer.sign(sns_notification(ses_bounce(R)), "https://evil.example/cert.pem")
    with pytest.raises(Unauthorised, match="not on an Amazon SNS host"):
        Sns(fetch=fetch).verify(message)
    assert fetch.urls == []
    with pytest.raises(Unavailable):  # SNS's host does not answer: a 503, and SNS tries again
        Sns(fetch=fetch).verify(signer.sign(sns_notification(ses_bounce(R)), CERT_URL))


def test_an_expired_or_wrong_certificate_is_refused(signer):
    other = SnsSigner()
    sns = Sns(fetch=Fetches({CERT_URL: other.pem}))
    with pytest.raises(Unauthorised, match="does not match"):
        sns.verify(signer.sign(sns_notification(ses_bounce(R)), CERT_URL))
    sns = Sns(fetch=Fetches({CERT_URL: signer.pem}))
    with pytest.raises(Unauthorised, match="not valid now"):
        sns.verify(signer.sign(sns_notification(ses_bounce(R)), CERT_URL), now=datetime.now(UTC) + timedelta(days=90))
    with pytest.raises(Unauthorised, match="cannot be read"):
        Sns(fetch=Fetches({CERT_URL: b"not a certificate"})).verify(
            signer.sign(sns_notification(ses_bounce(R)), CERT_URL))


def test_subscriptions_are_confirmed_on_sns_hosts_only(signer):
    confirm = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"
    fetch = Fetches({CERT_URL: signer.pem, confirm: b"<ConfirmSubscriptionResponse/>"})
    sns = Sns(fetch=fetch)
    message = ses.verify(json.dumps(signer.sign(sns_subscription(confirm), CERT_URL)).encode(), sns,
                         frozenset({TOPIC}))
    sns.confirm(message)
    assert fetch.urls == [CERT_URL, confirm]
    with pytest.raises(Unauthorised):
        sns.confirm({**message, "SubscribeURL": "https://evil.example/?Action=ConfirmSubscription"})


# Postmark, SendGrid, Mailgun signatures

def test_postmark_basic_auth():
    postmark.verify("Basic " + "cG06c2VjcmV0LXBhc3N3b3JkLTEyMzQ=", "pm", "secret-password-1234")
    for header in (None, "", "Basic", "Bearer cG06c2VjcmV0LXBhc3N3b3JkLTEyMzQ=", "Basic cG06d3Jvbmc=", "Basic ***"):
        with pytest.raises(Unauthorised):
            postmark.verify(header, "pm", "secret-password-1234")


def test_sendgrid_ecdsa_over_timestamp_and_body():
    signer = SendGridSigner()
    key = p256_public_key(signer.public)
    body = json.dumps([sendgrid_event(R)]).encode()
    headers = signer.headers(body)
    sig, ts = headers[sendgrid.SIGNATURE_HEADER], headers[sendgrid.TIMESTAMP_HEADER]
    sendgrid.verify(key, sig, ts, body)
    for s, t, b in ((sig, ts, body + b" "), (sig, str(int(ts) + 1), body), (None, ts, body), (sig, None, body),
                    ("***", ts, body), (SendGridSigner().headers(body, ts)[sendgrid.SIGNATURE_HEADER], ts, body)):
        with pytest.raises(Unauthorised):
            sendgrid.verify(key, s, t, b)


def test_mailgun_hmac_and_age():
    now = 1_800_000_000
    request = mailgun_request("signing-key", mailgun_failed(R), timestamp=now - 10)
    body = json.dumps(request).encode()
    assert mailgun.verify(body, "signing-key", now, 300).token == request["signature"]["token"]
    forged = {**request, "signature": {**request["signature"], "token": "another-token"}}
    for b, key, at in ((body, "other-key", now), (json.dumps(forged).encode(), "signing-key", now),
                       (body, "signing-key", now + 400), (body, "signing-key", now - 400),
                       (json.dumps({"event-data": {}}).encode(), "signing-key", now)):
        with pytest.raises(Unauthorised):
            mailgun.verify(b, key, at, 300)
