"""Settings, read from the environment (prefix ``NEWSLETTER_``).

With nothing configured the service runs embedded: a SQLite file and an outbox
folder under ``var/``, tasks inline. Production sets a PostgreSQL URL, a Redis
broker and an SMTP relay.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.errors import ConfigurationError

log = logging.getLogger(__name__)

# The project's top-level templates/ and config/ (the layout DESIGN.md promises). A wheel
# carries them inside the package (pyproject maps them to newsletter/templates and
# newsletter/sample); a source checkout, editable install included, has them at the top.
PACKAGE = Path(str(resources.files("newsletter")))
_SHIPPED = {"templates": "templates", "config": "sample"}


def shipped_dir(folder: str) -> Path:
    """templates/ or config/: from the installed wheel, else from the source checkout."""
    packaged = PACKAGE / _SHIPPED[folder]
    return packaged if packaged.is_dir() else PACKAGE.parent / folder


def sample_file(name: str) -> Path:
    """A file of the sample configuration in config/ (publications.toml, sample-feed.xml)."""
    return shipped_dir("config") / name


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSLETTER_", env_file=None, extra="ignore")

    # The data directory (SQLite file, outbox, generated secret): ./var of the directory
    # the command runs in, never inside the installed package.
    var_dir: Path = Field(default_factory=lambda: Path.cwd() / "var")
    database_url: str = ""  # empty: sqlite file under var_dir
    broker_url: str = ""  # empty: tasks run inline in the calling process
    redis_url: str = ""  # rate limits and locks; defaults to broker_url when that is redis
    secret_key: str = ""  # empty: generated once and kept in var_dir/secret_key

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

    # Where subscriber-facing links point (unsubscribe, preferences, view online). Sending
    # refuses an http URL (RFC 8058 one-click needs https) unless allow_http_links is set,
    # which is for development (the demo sets it).
    web_base_url: str = "http://127.0.0.1:8000"
    allow_http_links: bool = False
    # An operator's own templates: looked up first, the shipped ones fill the gaps.
    templates_dir: Path | None = None
    publications_file: Path = Field(default_factory=lambda: sample_file("publications.toml"))

    # Delivery tuning.
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

    confirm_link_max_age_seconds: int = Field(default=7 * 24 * 3600, ge=60)  # a week
    # The undo offered on the page that answers an unsubscribe (a signed form field, never a link).
    undo_unsubscribe_max_age_seconds: int = Field(default=3600, ge=60)  # an hour
    web_max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # the forms here are small
    # Operators are alerted (delivery/alerts.py) when an edition finishes with more failed
    # deliveries than this percentage of the messages attempted.
    alert_failure_percent: float = Field(default=5.0, ge=0, le=100)
    # Feeds (ingest/feeds.py): how often beat (or `newsletter run`) looks for feeds that are
    # due, and what one fetch may take; errors back off up to feed_max_backoff_seconds.
    feed_check_seconds: int = Field(default=60, ge=1, le=3600)
    feed_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    feed_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    feed_max_backoff_seconds: int = Field(default=6 * 3600, ge=60)
    # Outgoing webhooks (webhooks/): how often beat (or `newsletter run`) posts what is due;
    # a failed attempt is retried after base x 2^(attempts - 1) seconds (at most max_backoff),
    # up to max_attempts; a target on a loopback, private or link-local address is refused
    # unless webhooks_allow_private (development and tests).
    webhook_check_seconds: int = Field(default=10, ge=1, le=3600)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_seconds: int = Field(default=30, ge=1)
    webhook_max_backoff_seconds: int = Field(default=6 * 3600, ge=1)
    webhooks_allow_private: bool = False
    # `newsletter run` (scheduler.py): how often it looks for editions that are due.
    dispatch_interval_seconds: int = Field(default=60, ge=1, le=3600)

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
    # Retention (newsletter/retention/, `newsletter retention`, daily on beat): days kept.
    # Delivery rows of editions older than this are rolled up into per-edition tallies and
    # removed: 90 days outlives late bounces and complaints (days), a quarter's reporting
    # and an operator's look into a failed edition; after that only the totals are read.
    retention_delivery_days: int = Field(default=90, ge=7, le=36500)
    # Raw bounce reports (their parsed findings stay): long enough for `bounces reprocess
    # --since` to read a season's reports again after a fix in reading them.
    retention_bounce_raw_days: int = Field(default=90, ge=7, le=36500)
    # Staff audit log: two years, what a newsroom's security review usually looks back on.
    retention_audit_days: int = Field(default=730, ge=30, le=36500)
    # Outbox .eml files (the embedded default's "sent mail"): a month to look at what went out.
    retention_outbox_days: int = Field(default=30, ge=1, le=36500)
    # Outgoing webhook deliveries taken or given up, and their attempts: a month of the
    # console's delivery log (pending ones stay until they are over).
    retention_webhook_days: int = Field(default=30, ge=1, le=36500)
    # Rows removed per transaction: short transactions, no long locks.
    retention_batch_rows: int = Field(default=5000, ge=100, le=100_000)

    @model_validator(mode="after")
    def _timers_agree(self) -> Settings:
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
        names = [r.name for r in self.relays]
        if len(set(names)) != len(names):
            twice = sorted(n for n in names if names.count(n) > 1)[0]
            raise ValueError(f"NEWSLETTER_RELAYS: two relays named {twice!r}")
        return self

    @property
    def relay_pool(self) -> list[RelaySettings]:
        """The relays mail goes through: NEWSLETTER_RELAYS, or the NEWSLETTER_SMTP_* one."""
        return self.relays or [RelaySettings.model_construct(  # built from checked fields
            name=f"{self.smtp_host}:{self.smtp_port}"[:64], max_connections=0, rate_per_second=0, domains=[],
            host=self.smtp_host, port=self.smtp_port, starttls=self.smtp_starttls, username=self.smtp_username,
            password=self.smtp_password)]

    @property
    def schedule_grace(self) -> timedelta:
        return timedelta(minutes=self.schedule_grace_minutes)

    @property
    def late_article_max_age(self) -> timedelta:
        return timedelta(hours=self.late_article_max_hours)

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

    # Bounces and complaints that arrive later (newsletter/bounces/): where beat reads them
    # ("" none, a Maildir folder, an mbox file, or "imap" with the bounce_imap_* settings),
    # how often, and the shared secret a relay posts raw reports with (empty: endpoint off).
    bounce_mailbox: str = ""
    bounce_poll_seconds: int = Field(default=300, ge=10)
    bounce_imap_host: str = ""
    bounce_imap_port: int = Field(default=993, ge=1, le=65535)
    bounce_imap_ssl: bool = True
    bounce_imap_username: str = ""
    bounce_imap_password: str = ""
    bounce_imap_folder: str = "INBOX"
    bounce_webhook_secret: str = ""
    bounce_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    # Providers' signed webhooks of bounces and complaints (bounces/providers/; each
    # endpoint exists only when its setting is set). SES through SNS: the topic ARNs to
    # accept, comma-separated; SNS's certificates come from SNS hosts only (extra URL
    # prefixes to trust: for tests, never in production). Postmark: basic auth. SendGrid:
    # the Signed Event Webhook's verification key. Mailgun: the webhook signing key; its
    # requests are refused past this age (either way), as are tokens seen before.
    ses_topic_arns: str = ""
    sns_extra_urls: str = ""
    postmark_webhook_username: str = ""
    postmark_webhook_password: str = ""
    sendgrid_webhook_public_key: str = ""
    mailgun_webhook_signing_key: str = ""
    webhook_max_age_seconds: int = Field(default=300, ge=30, le=24 * 3600)
    # Gmail's feedback loop: the SenderId of every edition's Feedback-ID header (5 to 15
    # characters, the same for all your mail; empty: no header). delivery/compose.py
    feedback_sender_id: str = Field(default="newsletter", pattern=r"^([A-Za-z0-9._-]{5,15})?$")
    # Soft bounces (mailbox full, 4.x.x, ...) suppress only when this many editions bounced
    # softly within the window, like Mailman's bounce score. Policy refusals (5.7.x) never do.
    soft_bounce_threshold: int = Field(default=5, ge=1)
    soft_bounce_window_days: int = Field(default=14, ge=1, le=365)
    # A permanent failure that proves nothing about the address (a bare 550, a 5.0.0 with no
    # words: bounces/verdict.py) suppresses when this many editions failed so within the window.
    uncertain_bounce_threshold: int = Field(default=2, ge=1)

    # Metrics (newsletter/metrics/): the web serves /metrics (with a bearer token when
    # metrics_token is set). Celery workers count in prometheus_client's multiprocess files
    # under metrics_dir and the worker's main process serves them on metrics_port (0: off).
    metrics_token: str = ""
    metrics_dir: Path | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)

    # Logs (newsletter/logs.py): one line per event, JSON lines for log collectors.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("bounce_webhook_secret", "metrics_token", "postmark_webhook_password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # A shared secret a relay or a scraper sends: guessable ones are refused outright.
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters (or empty to turn it off)")
        return value

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

    @field_validator("sendgrid_webhook_public_key")
    @classmethod
    def _a_p256_key(cls, value: str) -> str:
        if value:
            p256_public_key(value)  # ValueError, with what is wrong
        return value

    @model_validator(mode="after")
    def _postmark_both(self) -> Settings:
        if bool(self.postmark_webhook_username) != bool(self.postmark_webhook_password):
            raise ValueError("NEWSLETTER_POSTMARK_WEBHOOK_USERNAME and _PASSWORD go together (or neither)")
        return self

    @property
    def ses_topics(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.ses_topic_arns.split(",") if t.strip())

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value):
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'newsletter.sqlite3'}"

    @property
    def effective_outbox_dir(self) -> Path:
        return self.outbox_dir or self.var_dir / "outbox"

    @property
    def effective_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith("redis") else ""

    def signing_key(self) -> str:
        """The secret for signed links; generated and stored once if not configured."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Write aside, then link into place: two processes starting at once agree
        # on one key and nobody ever reads a half-written file.
        tmp = path.with_name(f"secret_key.{os.getpid()}.tmp")
        tmp.write_text(key)
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_text().strip()
        finally:
            tmp.unlink()
        log.warning("NEWSLETTER_SECRET_KEY is not set: generated one and kept it in %s", path)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment; a ConfigurationError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigurationError(f"bad settings: {problems}") from None


def _problem(error: dict) -> str:
    field = "_".join(str(p) for p in error.get("loc", ()) if p != "__root__")
    message = error.get("msg", "").removeprefix("Value error, ")
    return f"NEWSLETTER_{field.upper()}: {message}" if field else message


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()


def p256_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """A webhook verification key as SendGrid shows it (base64 of DER) or as PEM; ValueError
    when it is not a P-256 public key."""
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not a public key (base64 DER or PEM)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an ECDSA P-256 public key")
    return key
