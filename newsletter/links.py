"""Every address the service hands out: built here and nowhere else.

Links in emails are absolute (web_base_url); links between pages are paths. Each
token names ids plus the subscriber's link key (tracking/tokens.py), and the
edition page is at the edition's random public id: nothing is addressed by a
number that could be counted or reused.
"""
from __future__ import annotations

from urllib.parse import quote

from newsletter.config import Settings
from newsletter.errors import ConfigurationError
from newsletter.tracking.tokens import Tokens


class Links:
    def __init__(self, base_url: str, tokens: Tokens):
        self.base = base_url.rstrip("/")
        self.tokens = tokens

    @classmethod
    def from_settings(cls, settings, tokens: Tokens | None = None) -> Links:
        return cls(settings.web_base_url, tokens or Tokens(settings.signing_key()))

    def absolute(self, path: str) -> str:
        return self.base + path

    # paths (between pages of the web)
    def unsubscribe_path(self, subscriber_id: int, key: int, publication_id: int, edition_id: int | None) -> str:
        return f"/u/{self.tokens.unsubscribe(subscriber_id, key, publication_id, edition_id)}"

    def preferences_path(self, subscriber_id: int, key: int, edition_id: int | None = None) -> str:
        return f"/preferences/{self.tokens.preferences(subscriber_id, key, edition_id)}"

    def confirm_path(self, subscription_id: int, key: int, nonce: int) -> str:
        return f"/confirm/{self.tokens.confirm(subscription_id, key, nonce)}"

    def address_change_path(self, change_id: int, key: int, nonce: int) -> str:
        return f"/address/{self.tokens.address_change(change_id, key, nonce)}"

    def edition_path(self, public_id: str, personal_token: str = "") -> str:
        return f"/editions/{public_id}" + (f"?t={personal_token}" if personal_token else "")

    def set_password_path(self, token: str) -> str:
        """A staff account's one-time link to set its password (the console's page)."""
        return f"/admin/set-password/{token}"

    # the public archive (web/archive_routes.py): readable, stable, never personal
    def archive_path(self, publication_slug: str, day=None, page: int = 1) -> str:
        if day is not None:
            return f"/p/{quote(publication_slug)}/{day.isoformat()}"
        return f"/p/{quote(publication_slug)}/" + (f"?page={page}" if page > 1 else "")

    def archive_feed_path(self, publication_slug: str) -> str:
        return f"/p/{quote(publication_slug)}/feed.xml"

    def signup_path(self, publication_slug: str = "") -> str:
        return "/subscribe" + (f"?publication={quote(publication_slug)}" if publication_slug else "")

    # absolute URLs (in emails)
    def unsubscribe(self, subscriber_id: int, key: int, publication_id: int, edition_id: int | None) -> str:
        return self.base + self.unsubscribe_path(subscriber_id, key, publication_id, edition_id)

    def preferences(self, subscriber_id: int, key: int, edition_id: int | None = None) -> str:
        return self.base + self.preferences_path(subscriber_id, key, edition_id)

    def confirm(self, subscription_id: int, key: int, nonce: int) -> str:
        return self.base + self.confirm_path(subscription_id, key, nonce)

    def address_change(self, change_id: int, key: int, nonce: int) -> str:
        return self.base + self.address_change_path(change_id, key, nonce)

    def edition(self, public_id: str) -> str:
        return self.base + self.edition_path(public_id)

    def set_password(self, token: str) -> str:
        return self.base + self.set_password_path(token)

    def archive(self, publication_slug: str, day=None, page: int = 1) -> str:
        return self.base + self.archive_path(publication_slug, day, page)

    def archive_feed(self, publication_slug: str) -> str:
        return self.base + self.archive_feed_path(publication_slug)

    def signup(self, publication_slug: str = "") -> str:
        return self.base + self.signup_path(publication_slug)


def check_sendable(settings: Settings) -> None:
    """RFC 8058 one-click unsubscribe needs an https URL: refuse to send with an http
    web base URL unless explicitly allowed (the demo and development do)."""
    if not settings.web_base_url.startswith("https://") and not settings.allow_http_links:
        raise ConfigurationError(
            f"NEWSLETTER_WEB_BASE_URL is {settings.web_base_url!r}: links in emails, one-click unsubscribe "
            "included (RFC 8058), must be https. Set an https URL, or NEWSLETTER_ALLOW_HTTP_LINKS=true "
            "for development only.")
