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
