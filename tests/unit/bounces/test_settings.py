"""The shared secrets of the bounce endpoint and of /metrics."""
import pytest


def test_shared_secrets_that_are_too_short_are_refused(monkeypatch):
    from newsletter.config import get_settings, reset_settings
    from newsletter.errors import ConfigurationError

    monkeypatch.setenv("NEWSLETTER_BOUNCE_WEBHOOK_SECRET", "short")
    reset_settings()
    try:
        with pytest.raises(ConfigurationError, match="NEWSLETTER_BOUNCE_WEBHOOK_SECRET: must be at least 16"):
            get_settings()
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.mark.parametrize("env, message", [
    ({"NEWSLETTER_POSTMARK_WEBHOOK_USERNAME": "postmark", "NEWSLETTER_POSTMARK_WEBHOOK_PASSWORD": "short"},
     "NEWSLETTER_POSTMARK_WEBHOOK_PASSWORD: must be at least 16"),
    ({"NEWSLETTER_POSTMARK_WEBHOOK_USERNAME": "postmark"}, "_USERNAME and _PASSWORD go together"),
    ({"NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY": "bm90IGEga2V5"}, "_SENDGRID_WEBHOOK_PUBLIC_KEY: not a public"),
    ({"NEWSLETTER_FEEDBACK_SENDER_ID": "abc"}, "NEWSLETTER_FEEDBACK_SENDER_ID"),
    ({"NEWSLETTER_FEEDBACK_SENDER_ID": "news:letter"}, "NEWSLETTER_FEEDBACK_SENDER_ID"),
    ({"NEWSLETTER_WEBHOOK_MAX_AGE_SECONDS": "5"}, "NEWSLETTER_WEBHOOK_MAX_AGE_SECONDS"),
], ids=["postmark-short-password", "postmark-half", "sendgrid-not-a-key", "feedback-id-short",
        "feedback-id-colon", "max-age"])
def test_webhook_settings_are_checked_by_name(monkeypatch, env, message):
    from newsletter.config import get_settings, reset_settings
    from newsletter.errors import ConfigurationError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        with pytest.raises(ConfigurationError, match=message):
            get_settings()
    finally:
        monkeypatch.undo()
        reset_settings()


def test_a_sendgrid_key_as_sendgrid_shows_it_or_as_pem():
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from newsletter.config import Settings

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for value in (base64.b64encode(der).decode(), pem.decode()):
        assert Settings(secret_key="k", sendgrid_webhook_public_key=value).sendgrid_webhook_public_key == value
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(ValueError, match="P-256"):
        Settings(secret_key="k", sendgrid_webhook_public_key=other_curve)
