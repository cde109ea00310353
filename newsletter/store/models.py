"""Sections and articles as published by the site."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base, UTCDateTime, utcnow


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))  # display name, e.g. SUPERPOWERS


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_published", "published_at"),
                      Index("ix_articles_ingested", "ingested_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # canonical
    headline: Mapped[str] = mapped_column(String(500))
    teaser: Mapped[str] = mapped_column(Text, default="")
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    source: Mapped[str] = mapped_column(String(128), default="")  # wire, e.g. AFP
    byline: Mapped[str] = mapped_column(String(256), default="")
    dateline: Mapped[str] = mapped_column(String(256), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # When the article entered the store (never changed by later updates): an article that
    # arrives after an edition's cut-off is taken by the next edition (editions/build.py).
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The feed's image for the article (enclosure or media:content; https only), if it has one.
    image_url: Mapped[str] = mapped_column(String(2048), default="", server_default="")
    image_width: Mapped[int | None] = mapped_column(Integer, default=None)
    image_height: Mapped[int | None] = mapped_column(Integer, default=None)
    image_alt: Mapped[str] = mapped_column(String(500), default="", server_default="")

    section: Mapped[Section] = relationship(lazy="joined")
