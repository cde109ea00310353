"""Imports every model so that the metadata is complete (Alembic, create_all)."""
from newsletter.db import Base
from newsletter.delivery.models import Delivery, DomainHold
from newsletter.editions.models import Edition, EditionItem
from newsletter.publications.models import Publication, PublicationSection
from newsletter.staff.models import ApiToken, AuditEntry, StaffAccount, StaffSession
from newsletter.store.models import Article, Section
from newsletter.subscribers.models import ImportJob, Subscriber, Subscription, Suppression
from newsletter.tracking.models import Event

__all__ = [
    "Base", "Article", "Delivery", "DomainHold", "Edition", "EditionItem", "Event", "Publication",
    "PublicationSection", "Section", "Subscriber", "Subscription", "Suppression",
    "ApiToken", "AuditEntry", "ImportJob", "StaffAccount", "StaffSession",
]
