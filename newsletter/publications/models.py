"""A publication and its ordered sections."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base
from newsletter.publications.schedule import describe
from newsletter.store.models import Section


class Publication(Base):
    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    postal_address: Mapped[str] = mapped_column(Text)
    site_url: Mapped[str] = mapped_column(String(500), default="")
    cap_per_section: Mapped[int] = mapped_column(Integer, default=5)
    schedule_cron: Mapped[str] = mapped_column(String(100), default="0 6 * * *")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    list_id: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Per-recipient-domain limit in messages a second (0: none); global limit is in settings.
    domain_rate_per_second: Mapped[int] = mapped_column(Integer, default=0)
    # DKIM (empty domain: not signed). The key itself is never stored: a file path or the
    # name of an environment variable, read by the process that signs.
    dkim_domain: Mapped[str] = mapped_column(String(255), default="")
    dkim_selector: Mapped[str] = mapped_column(String(63), default="")
    dkim_key_file: Mapped[str] = mapped_column(String(1000), default="")
    dkim_key_env: Mapped[str] = mapped_column(String(128), default="")
    dkim_algorithm: Mapped[str] = mapped_column(String(32), default="rsa-sha256")
    # VERP: MAIL FROM is bounces+<token>@<bounce domain>, the token naming the delivery.
    verp: Mapped[bool] = mapped_column(Boolean, default=True)
    bounce_domain: Mapped[str] = mapped_column(String(255), default="")  # empty: the sender's domain
    # Who hears about empty, missed, paused or failing editions (delivery/alerts.py); empty: the log only.
    operator_address: Mapped[str] = mapped_column(String(320), default="")
    # Send at the schedule's time in each subscriber's own zone, in waves (delivery/waves.py).
    local_time: Mapped[bool] = mapped_column(Boolean, default=False)
    # Readers (issue 21). The look: a logo (https URL, width in CSS pixels, alt text) and an
    # accent colour (#rrggbb, checked for contrast at load: publications/look.py).
    logo_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    logo_width: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    logo_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    accent_color: Mapped[str] = mapped_column(String(7), default="", server_default="")
    # The public archive at /p/<slug>/ (web/archive_routes.py); false: every archive page is a 404.
    archive: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Click statistics (editions/clicks.py), off by default: links go through /r/<token> and
    # count aggregates. click_history: a reader who agrees may have their clicks kept (and
    # most_clicked_first: their sections ordered by them). open_pixel: a counted 1x1 image.
    click_stats: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    click_history: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    most_clicked_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    open_pixel: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The sign-up page (issue 20): listed there unless public is false (an internal test
    # list), with its own line of description (empty: its schedule in words).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Who owns the settings: "file" (`publications load` writes them) or "console" (the console
    # and the API do; a load skips it). publications/managed.py: neither overwrites the other.
    managed_by: Mapped[str] = mapped_column(String(16), default="file", server_default="file")

    sections: Mapped[list[PublicationSection]] = relationship(
        order_by="PublicationSection.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2]

    @property
    def effective_bounce_domain(self) -> str:
        return self.bounce_domain or self.domain

    @property
    def listing_line(self) -> str:
        """What the sign-up page (and every subscriber page) says under its name: its own
        description, or its schedule in words ("Headlines by email, every Monday at 07:00")."""
        if self.description:
            return self.description
        when = describe(self.schedule_cron or "0 6 * * *")
        return f"Headlines by email, {when} " + ("your time" if self.local_time else f"({self.timezone or 'UTC'})")

    def ordered_sections(self) -> list[Section]:
        return [ps.section for ps in self.sections]


class PublicationSection(Base):
    __tablename__ = "publication_sections"
    __table_args__ = (UniqueConstraint("publication_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    position: Mapped[int] = mapped_column(Integer)

    section: Mapped[Section] = relationship(lazy="joined")
