"""Whose address a request comes from: X-Forwarded-For is believed only from a proxy that
NEWSLETTER_TRUSTED_PROXIES names (never by default, not even from 127.0.0.1), on the real
uvicorn server: per-client limits and the audit log's addresses follow it."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.staff.models import AuditEntry
from tests.integration.web.staff_helpers import PASSWORD, client, make_staff


@pytest.fixture(params=["", "127.0.0.1", "10.0.0.0/8"], ids=["no proxy", "trusted loopback", "other proxy"])
def web_settings(web_settings, request):
    web_settings.trusted_proxies = request.param
    web_settings.signup_limit_per_client = 3
    return web_settings


def signups(server, forwarded_for: list[str]) -> list[int]:
    http = client(server)
    return [http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": f"r{n}@example.org"},
                      headers={"X-Forwarded-For": ip}).status_code for n, ip in enumerate(forwarded_for)]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(engine, web_settings, publication, server):
    trusted = web_settings.trusted_proxies == "127.0.0.1"  # the test client connects from 127.0.0.1
    # Each sign-up names a new client in X-Forwarded-For.
    answers = signups(server, [f"198.51.100.{n}" for n in range(1, 7)])
    assert answers == ([202] * 6 if trusted else [202] * 3 + [429] * 3)

    staff = make_staff(engine, web_settings)
    signed = client(server).post("/api/v1/session", json={"email": staff.email("viewer"), "password": PASSWORD},
                                 headers={"X-Forwarded-For": "203.0.113.9"})
    assert signed.status_code == 200
    with Session(engine) as s:
        address = s.scalar(select(AuditEntry.address).where(AuditEntry.action == "staff.login"))
    assert address == ("203.0.113.9" if trusted else "127.0.0.1")


def test_the_setting_takes_addresses_and_networks_only():
    assert Settings(trusted_proxies=" 10.0.0.1, 192.168.0.0/16 ,::1").trusted_proxies == "10.0.0.1,192.168.0.0/16,::1"
    assert Settings(trusted_proxies="*").trusted_proxies == "*"
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies="proxy.example.org")
