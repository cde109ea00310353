"""The webhook signature as a receiver checks it, and the retry back-off."""
from newsletter.config import Settings
from newsletter.webhooks import post, signing
from newsletter.webhooks.deliver import backoff

BODY = b'{"id":"evt_1","type":"confirmed"}'


def test_a_signature_verifies_only_for_its_body_secret_and_window():
    value = signing.header("whsec_a", 1_800_000_000, BODY)
    assert value.startswith("t=1800000000,v1=")
    assert signing.verify("whsec_a", value, BODY, 1_800_000_000 + 299)
    assert not signing.verify("whsec_a", value, BODY, 1_800_000_000 + 301)  # a replay, later
    assert not signing.verify("whsec_a", value, BODY + b"\n", 1_800_000_000)
    assert not signing.verify("whsec_b", value, BODY, 1_800_000_000)
    assert not signing.verify("whsec_a", "t=soon,v1=00", BODY, 1_800_000_000)
    assert signing.new_secret() != signing.new_secret()


def test_back_off_doubles_up_to_its_ceiling():
    settings = Settings(webhook_backoff_seconds=30, webhook_max_backoff_seconds=600)
    assert [backoff(settings, n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_urls_and_private_targets_are_refused_in_words():
    assert post.url_problem("ftp://example.org/") == "must be an http:// or https:// URL"
    assert post.url_problem("https://user:pw@example.org/") == "must not carry a user name or password"
    assert post.url_problem("https://crm.example.org/hooks?x=1") == ""
    local = post.target_problem("http://127.0.0.1:9/x", allow_private=False)
    assert "loopback address" in local and "webhooks_allow_private" in local
    assert post.target_problem("http://127.0.0.1:9/x", allow_private=True) == ""
    assert "private address" in post.target_problem("http://crm.internal/x", False,
                                                    resolve=lambda host, port: ["10.1.2.3"])
