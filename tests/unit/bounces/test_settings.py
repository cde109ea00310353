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
