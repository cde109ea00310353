"""The web side, staff and security: sign-up limits, staff sessions, sign-in back-off,
second factor and single sign-on, imports, trusted proxies and click statistics.

Part of newsletter.config.Settings (import from there).
"""
from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class WebAndStaffSettings(BaseModel):
    """Sign-up limits, staff sign-in and sessions, SSO, imports, proxies, click statistics
    (a group of Settings' fields)."""

    # Sign-up limits: per client address (429 past it) and confirmation emails per address.
    signup_limit_per_client: int = Field(default=10, ge=1)
    signup_limit_client_window_seconds: int = Field(default=600, ge=1)
    signup_limit_per_address: int = Field(default=3, ge=1)
    signup_limit_address_window_seconds: int = Field(default=3600, ge=1)

    # Staff (newsletter/staff/): console sessions end after this much idle time, and in any
    # case this long after sign-in; sign-in attempts are limited per account and per client.
    staff_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Sign-in back-off (staff/throttle.py): failures allowed for one account from one
    # client, from one client across accounts, and for one account from every client
    # (this last one never holds back a client the account signed in from before); past
    # them each attempt waits, doubling from the base up to the maximum. A window without
    # failures forgets them.
    login_limit_per_account: int = Field(default=5, ge=1)
    login_limit_per_client: int = Field(default=20, ge=1)
    login_limit_per_account_all_clients: int = Field(default=20, ge=1)
    login_limit_window_seconds: int = Field(default=900, ge=1)
    login_backoff_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86400)
    login_known_client_days: int = Field(default=90, ge=1, le=3650)
    # Second factor: how long a browser may be remembered (skip the code), and how long
    # the step between the password and the code may take.
    staff_device_days: int = Field(default=30, ge=1, le=365)
    staff_second_factor_minutes: int = Field(default=10, ge=1, le=60)
    # The sender of the emails sent to staff (too many failed sign-ins); empty: the
    # sender address of the first active publication.
    staff_mail_from: str = ""
    # Single sign-on (OpenID Connect, staff/sso.py): the provider's issuer URL (its
    # /.well-known/openid-configuration is read), this client's id and secret; empty
    # issuer: off. sso_roles maps a claim's values to roles, e.g.
    # "newsroom-admins=admin, desk-space=operator:spacewar-daily+orbit-weekly", checked in
    # order, the first match wins; no match: no access. sso_create: an unknown person with
    # a matching value gets an SSO-only account.
    sso_issuer: str = ""
    sso_client_id: str = ""
    sso_client_secret: str = ""
    sso_scopes: str = "openid email profile"
    sso_claim: str = "groups"
    sso_roles: str = ""
    sso_create: bool = True
    sso_label: str = "Sign in with single sign-on"
    # The largest CSV the API and the console accept for an import (bytes), and how many
    # imports (upload and job) one web process takes at once (subscribers/uploads.py).
    import_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)  # on disk, never in memory
    import_max_concurrent: int = Field(default=2, ge=1, le=64)
    # The reverse proxies (addresses or networks, comma-separated; "*" any) whose
    # X-Forwarded-For and X-Forwarded-Proto are believed: uvicorn's forwarded_allow_ips.
    # Empty: none, and the client is the peer of the connection (web/server.py).
    trusted_proxies: str = ""
    # Click statistics (tracking/scanners.py): a click this soon after its message was sent
    # is counted as a link scanner's, not a reader's.
    click_scanner_seconds: int = Field(default=60, ge=0, le=3600)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item[:60]!r} is not an IP address or network (or *)") from None
        return ",".join(items)

    @property
    def login_per_account(self) -> tuple[int, int]:
        return self.login_limit_per_account, self.login_limit_window_seconds

    @property
    def login_per_client(self) -> tuple[int, int]:
        return self.login_limit_per_client, self.login_limit_window_seconds

    @property
    def signup_per_client(self) -> tuple[int, int]:
        return self.signup_limit_per_client, self.signup_limit_client_window_seconds

    @property
    def signup_emails_per_address(self) -> tuple[int, int]:
        return self.signup_limit_per_address, self.signup_limit_address_window_seconds
