"""How mail goes out: the delivery backend and its relays, and the timers and limits of
sending (batches, retries, leases, pauses).

Part of newsletter.config.Settings (import from there).
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator


class RelaySettings(BaseModel):
    """One relay of the pool (NEWSLETTER_RELAYS, a JSON list of these; transport/relays.py).
    `domains`: the recipient domains (and their subdomains) it serves; none: the rest.
    `max_connections` (0: no cap) counts its open connections across every worker;
    `rate_per_second` (0: none) its messages a second, over every worker."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str = ""
    password: str = Field(default="", repr=False)
    max_connections: int = Field(default=0, ge=0)
    rate_per_second: float = Field(default=0, ge=0)
    domains: list[str] = Field(default_factory=list)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = [d.strip().lower().strip(".") for d in value]
        bad = [d for d in cleaned if not d or "@" in d or " " in d]
        if bad:
            raise ValueError(f"not a domain: {bad[0]!r}")
        return cleaned


class DeliverySettings(BaseModel):
    """The delivery backend and the relays (a group of Settings' fields)."""

    # Delivery backend: "outbox" writes .eml files, "smtp" talks to a relay.
    delivery_backend: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    smtp_ca_file: Path | None = None  # to trust a relay whose certificate a private CA signed
    # Several relays (a JSON list of RelaySettings); empty: the one relay above, a pool of
    # one. The timeout and the CA file above apply to all.
    relays: list[RelaySettings] = Field(default_factory=list)

    @property
    def relay_pool(self) -> list[RelaySettings]:
        """The relays mail goes through: NEWSLETTER_RELAYS, or the NEWSLETTER_SMTP_* one."""
        return self.relays or [RelaySettings.model_construct(  # built from checked fields
            name=f"{self.smtp_host}:{self.smtp_port}"[:64], max_connections=0, rate_per_second=0, domains=[],
            host=self.smtp_host, port=self.smtp_port, starttls=self.smtp_starttls, username=self.smtp_username,
            password=self.smtp_password)]


class DeliveryTuning(BaseModel):
    """Batches, retries, leases and pauses (a group of Settings' fields)."""

    batch_size: int = Field(default=500, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=30.0, ge=0)
    relay_down_retry_seconds: float = Field(default=10.0, ge=0)
    rate_limit_per_second: float = Field(default=0, ge=0)  # 0: unlimited
    schedule_grace_minutes: int = Field(default=180, ge=0)
    # An article that enters the store after an edition's cut-off goes in the next edition
    # (editions/build.py), unless it was published more than this before that window opened.
    late_article_max_hours: int = Field(default=48, ge=0, le=24 * 366)
    # Deliveries whose attempts are used up by temporary failures get one last round this
    # long after their last attempt before they are final (delivery/outcomes.py).
    last_round_seconds: float = Field(default=3600, ge=0)
    # A relay (or the outbox's disk) unavailable this long: the operators are alerted once,
    # and told again when it is back (delivery/outage.py). No attempt is charged meanwhile.
    relay_down_alert_seconds: float = Field(default=600, ge=0)
    # A batch that meets a database or broker error tries again after a short back-off,
    # doubling from half a second up to this (workers/tasks.py, driver.interrupted_retry_in).
    interrupted_retry_max_seconds: float = Field(default=5.0, gt=0, le=300)
    # Sent marks committed with synchronous_commit on: a crash of the database server then
    # loses none that it acknowledged (at a cost in messages/s: README, Benchmarks).
    synchronous_marks: bool = False
    # A sender's heartbeat is its claim's sign of life (delivery/claims.py): renewed every
    # quarter lease while it works or waits on the relay; a claim silent for a lease is dead.
    lease_seconds: int = Field(default=60, ge=2)
    visibility_timeout: int = Field(default=300, ge=5)
    sweep_interval_seconds: int = Field(default=10, ge=1)
    pause_check_seconds: float = Field(default=0.2, gt=0, le=10)  # a pause takes effect within this
    # Refusals of the message (MAIL FROM, DATA, 5.3/5.4/5.6/5.7 after DATA) before the edition
    # pauses itself; policy refusals (5.7.x to RCPT) from one domain before that domain is held.
    message_refusals_to_pause: int = Field(default=3, ge=1)
    policy_refusals_to_hold_domain: int = Field(default=5, ge=1)
    # Inline (no broker): how long a command waits for retries before leaving them for later.
    inline_wait_seconds: float = Field(default=120, ge=0)
    confirmation_max_retries: int = Field(default=8, ge=0)
    confirmation_max_delay_seconds: float = Field(default=600, ge=0)

    @model_validator(mode="after")
    def _timers_agree(self) -> Self:
        # A sender renews its lease while it works; the broker hands a task out again only
        # after the visibility timeout, which must outlast the lease, or a live task is
        # redelivered beside itself. A task scheduled with a countdown past the visibility
        # timeout is redelivered early by Redis, so retry delays must stay under it.
        if self.visibility_timeout <= self.lease_seconds:
            raise ValueError(f"NEWSLETTER_VISIBILITY_TIMEOUT ({self.visibility_timeout}s) must be longer than "
                             f"NEWSLETTER_LEASE_SECONDS ({self.lease_seconds}s)")
        # The sweep interval has no such bound: the sweeper takes back only rows whose
        # claim is older than a lease (delivery/driver.py), so any interval is safe and it
        # only sets how soon a dead sender's rows go out again.
        if self.relay_down_retry_seconds >= self.visibility_timeout:
            raise ValueError(f"NEWSLETTER_RELAY_DOWN_RETRY_SECONDS ({self.relay_down_retry_seconds}s) must be "
                             f"shorter than NEWSLETTER_VISIBILITY_TIMEOUT ({self.visibility_timeout}s)")
        # The relays are DeliverySettings' field (Settings inherits both groups): checked here,
        # after the timers, as they always were.
        names = [r.name for r in self.relays]
        if len(set(names)) != len(names):
            twice = sorted(n for n in names if names.count(n) > 1)[0]
            raise ValueError(f"NEWSLETTER_RELAYS: two relays named {twice!r}")
        return self

    @property
    def schedule_grace(self) -> timedelta:
        return timedelta(minutes=self.schedule_grace_minutes)

    @property
    def late_article_max_age(self) -> timedelta:
        return timedelta(hours=self.late_article_max_hours)
