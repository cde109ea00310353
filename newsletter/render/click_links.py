"""Counted links: what a headline links to when a publication has `click_stats = true`.

A counted link is `/r/<link token>/<message token>`:

- the link token names the edition and the item's position, signed; it is the same in
  every message of the edition, so it is made when the edition is rendered (once per
  variant) and the redirect looks the address up in the edition: it can only ever lead
  to a URL that is in that edition;
- the message token is the message's own part, spliced in per message like the other
  personal values (render/personal.py's `click_suffix` placeholder), signed once per
  message: the edition, when the message was sent (in steps of STAMP_SECONDS, so that it
  names a moment many messages share, not a message), and a person only where the
  publication offers a click history and the reader agreed to it (0 otherwise).

The sending time is what tells a link scanner from a reader: scanners of corporate mail
systems open every link within seconds of delivery (tracking/scanners.py).
"""
from __future__ import annotations

from datetime import datetime

from newsletter.render.personal import PLACEHOLDERS
from newsletter.tracking.click_models import OPEN_PIXEL
from newsletter.tracking.tokens import Tokens

STAMP_SECONDS = 10


def stamp_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STAMP_SECONDS


def stamp_time(stamp: int) -> float:
    """The start of the stamp's step, in seconds since the epoch: at or before the send."""
    return stamp * STAMP_SECONDS


class ClickLinks:
    def __init__(self, base_url: str, tokens: Tokens, edition_id: int):
        self.base = base_url.rstrip("/")
        self.tokens = tokens
        self.edition_id = edition_id
        self._links: dict[int, str] = {}

    def href(self, item) -> str:
        """For the renderer (render/edition.py's `link_for`): the item's counted link, with
        the placeholder the message's own part replaces."""
        position = item.position
        if position not in self._links:
            self._links[position] = f"{self.base}/r/{self.tokens.click(self.edition_id, position)}"
        return self._links[position] + PLACEHOLDERS["click_suffix"]

    def pixel_url(self) -> str:
        return f"{self.base}/o/{self.tokens.click(self.edition_id, OPEN_PIXEL)}" + PLACEHOLDERS["click_suffix"]

    def suffix(self, sent_at: datetime, subscriber_id: int = 0, key: int = 0) -> str:
        """The message's part: when it is sent; the person only with their consent (the
        caller passes 0 otherwise)."""
        return "/" + self.tokens.click_message(self.edition_id, stamp_of(sent_at), subscriber_id, key)
