"""Events: recorded first, acted upon in the same transaction or later."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow

# kinds
UNSUBSCRIBE, RESUBSCRIBE, PREFERENCES, CONFIRM, SIGNUP, BOUNCE, COMPLAINT = (
    "unsubscribe", "resubscribe", "preferences", "confirm", "signup", "bounce", "complaint",
)
# methods
ONE_CLICK, LINK, PREFERENCE_CENTRE, ADMIN, SMTP, WEB, BOUNCED = (
    "one-click", "link", "preference-centre", "admin", "smtp", "web", "bounce",
)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_edition_kind", "edition_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default="")
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None
    )
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", ondelete="SET NULL"), default=None
    )
    edition_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
