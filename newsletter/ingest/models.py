"""Feeds declared in the publications file, and what polling them last did."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Entries that name no section (or one that is neither mapped nor known) go here.
    section: Mapped[str] = mapped_column(String(64), default="")
    categories: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # feed category -> section slug
    interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)  # may fetch loopback/private addresses
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "file" (`publications load` declares it) or "console" (created there; a load leaves it).
    managed_by: Mapped[str] = mapped_column(String(16), default="file", server_default="file")
    # Conditional GET: what the server said last time.
    etag: Mapped[str] = mapped_column(String(512), default="")
    last_modified: Mapped[str] = mapped_column(String(128), default="")
    # Status (`newsletter feeds status`).
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # None: at once
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)  # drives the back-off
    last_added: Mapped[int] = mapped_column(Integer, default=0)  # articles added by the last poll
    total_added: Mapped[int] = mapped_column(Integer, default=0)
    # Health (delivery/feed_alerts.py): the first failed poll of the errors in a row (None:
    # its last poll worked), after how long failing is an alert, which outage was told (its
    # failing_since), and every poll and error counted here, so that the web's /metrics is
    # true whichever process polled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    down_alerted_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    alert_after_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    total_polls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
