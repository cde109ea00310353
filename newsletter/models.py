"""Imports every model so that the metadata is complete (Alembic, create_all)."""
from newsletter.bounces.models import BounceFinding, BounceReport, WebhookToken
from newsletter.db import Base
from newsletter.delivery.models import Alert, Delivery, DomainHold, EditionWave, RelayOutage, SendClaim
from newsletter.delivery.tallies import DeliveryTally
from newsletter.editions.history import EditionHistory
from newsletter.editions.models import Edition, EditionEdit, EditionItem
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication, PublicationSection
from newsletter.staff.models import (
    ApiToken,
    AuditEntry,
    RecoveryCode,
    RememberedDevice,
    StaffAccount,
    StaffPolicy,
    StaffPublication,
    StaffSession,
)
from newsletter.store.models import Article, Section
from newsletter.subscribers.address_change import AddressChange
from newsletter.subscribers.models import ImportJob, Subscriber, Subscription, Suppression
from newsletter.tracking.click_models import ClickCount, ReaderClick
from newsletter.tracking.models import Event
from newsletter.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Base", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
    "AddressChange", "Alert", "ApiToken", "Article", "AuditEntry", "BounceFinding", "BounceReport", "Delivery",
    "DeliveryTally", "DomainHold", "Edition", "EditionEdit",
    "EditionHistory", "EditionItem", "EditionWave", "Event", "Feed", "ImportJob", "Publication", "PublicationSection",
    "RelayOutage", "Section", "SendClaim", "StaffAccount", "ClickCount", "ReaderClick", "StaffSession", "Subscriber",
    "Subscription", "Suppression", "WebhookToken", "RecoveryCode", "RememberedDevice", "StaffPolicy",
    "StaffPublication",
]
