"""Settings that check themselves: literal choices and the timers' relations, each
refused with a message that names the environment variables involved."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from newsletter.config import Settings

BASE = {"secret_key": "k", "database_url": "sqlite://"}


def test_the_defaults_agree():
    s = Settings(**BASE)
    assert s.lease_seconds < s.visibility_timeout
    assert s.relay_down_retry_seconds < s.visibility_timeout


@pytest.mark.parametrize("values, names", [
    ({"lease_seconds": 300, "visibility_timeout": 300}, ("NEWSLETTER_VISIBILITY_TIMEOUT", "NEWSLETTER_LEASE_SECONDS")),
    ({"lease_seconds": 60, "visibility_timeout": 30}, ("NEWSLETTER_VISIBILITY_TIMEOUT", "NEWSLETTER_LEASE_SECONDS")),
    ({"relay_down_retry_seconds": 300}, ("NEWSLETTER_RELAY_DOWN_RETRY_SECONDS", "NEWSLETTER_VISIBILITY_TIMEOUT")),
], ids=["visibility-equal-to-lease", "visibility-under-lease", "relay-retry-past-visibility"])
def test_timers_that_disagree_are_refused_by_name(values, names):
    with pytest.raises(ValidationError) as caught:
        Settings(**BASE, **values)
    message = str(caught.value)
    assert all(name in message for name in names), message


def test_timers_at_their_limits_are_accepted():
    s = Settings(**BASE, lease_seconds=60, visibility_timeout=61, sweep_interval_seconds=60,
                 relay_down_retry_seconds=60.5)
    assert (s.lease_seconds, s.visibility_timeout, s.sweep_interval_seconds) == (60, 61, 60)


@pytest.mark.parametrize("field, value", [("delivery_backend", "smpt"), ("log_format", "xml")])
def test_choices_are_literal(field, value):
    with pytest.raises(ValidationError, match=field):
        Settings(**BASE, **{field: value})
