"""Settings, read from the environment (prefix ``NEWSLETTER_``).

With nothing configured the service runs embedded: a SQLite file and an outbox
folder under ``var/``, tasks inline. Production sets a PostgreSQL URL, a Redis
broker and an SMTP relay.

Import every setting and helper from here. `Settings` is assembled from groups of
fields, each a plain model in newsletter/settings/:

- here: the stores (data directory, database, broker, Redis, secret key), what the
  service makes of them (effective_*, signing_key), the rule shared secrets follow,
  and reading the environment (get_settings, reset_settings);
- settings/delivery.py: the delivery backend and relays (RelaySettings), and the
  timers and limits of sending, with the check that they agree;
- settings/content.py: links, templates and the publications file, the lifetimes of
  signed links, form sizes; the shipped files (shipped_dir, sample_file);
- settings/web.py: sign-up limits, staff sign-in, sessions and SSO, imports, trusted
  proxies, click statistics;
- settings/housekeeping.py: failure alerts, feeds, outgoing webhooks, the dispatcher,
  retention, metrics and logs;
- settings/bounces.py: bounce mailboxes, provider webhooks (p256_public_key), and when
  bounces suppress an address.
"""
from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.errors import ConfigurationError
from newsletter.settings.bounces import BounceSettings, p256_public_key
from newsletter.settings.content import (
    PACKAGE,
    ContentSettings,
    SubscriberPageSettings,
    sample_file,
    shipped_dir,
)
from newsletter.settings.delivery import DeliverySettings, DeliveryTuning, RelaySettings
from newsletter.settings.housekeeping import BackgroundSettings, ObservabilitySettings, RetentionSettings
from newsletter.settings.web import WebAndStaffSettings

__all__ = [
    "PACKAGE",
    "RelaySettings",
    "Settings",
    "get_settings",
    "p256_public_key",
    "reset_settings",
    "sample_file",
    "shipped_dir",
]

log = logging.getLogger(__name__)


class StoreSettings(BaseModel):
    """Where the service keeps its state, and its secret (the first of Settings' fields)."""

    # The data directory (SQLite file, outbox, generated secret): ./var of the directory
    # the command runs in, never inside the installed package.
    var_dir: Path = Field(default_factory=lambda: Path.cwd() / "var")
    database_url: str = ""  # empty: sqlite file under var_dir
    broker_url: str = ""  # empty: tasks run inline in the calling process
    redis_url: str = ""  # rate limits and locks; defaults to broker_url when that is redis
    secret_key: str = ""  # empty: generated once and kept in var_dir/secret_key


# Pydantic takes the fields (and the validators) of the bases from the last base to the
# first, so the groups are listed bottom-up: the fields keep the order they had in one
# class, which is the order get_settings names the bad ones in.
class Settings(
    ObservabilitySettings,
    BounceSettings,
    RetentionSettings,
    WebAndStaffSettings,
    BackgroundSettings,
    SubscriberPageSettings,
    DeliveryTuning,
    ContentSettings,
    DeliverySettings,
    StoreSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(env_prefix="NEWSLETTER_", env_file=None, extra="ignore")

    # Here, not in a group: the rule covers secrets of two groups (bounces, metrics).
    @field_validator("bounce_webhook_secret", "metrics_token", "postmark_webhook_password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # A shared secret a relay or a scraper sends: guessable ones are refused outright.
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters (or empty to turn it off)")
        return value

    # What the service makes of the stores; the outbox is under var_dir unless set.
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
