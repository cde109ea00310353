"""Per-subscriber values: placeholders at render time, substitution per message.

Templates are rendered once per variant with placeholders where the subscriber's
name and links go; each message then gets its values by plain substitution
(escaped for HTML). A placeholder is plain ASCII letters and digits, so escaping
and CSS inlining leave it be, with a random part new in every process, so that
text from a feed cannot guess one and have personal values spliced into a headline.

A template may print a placeholder, test it (`{% if personal.name %}`) or join it
to other text, but not transform it: `personal.name | upper` or `| truncate`
would change the placeholder, and subscribers would read it instead of their name.
Such a template is refused with a ConfigurationError when it is rendered (the
preview shows it before anything is sent).
"""
from __future__ import annotations

import html
import secrets
from dataclasses import dataclass

from newsletter.errors import ConfigurationError

_NONCE = secrets.token_hex(8).upper()
PLACEHOLDERS = {
    "name": f"XNLXNAME{_NONCE}X",
    "unsubscribe_url": f"XNLXUNSUBSCRIBE{_NONCE}X",
    "preferences_url": f"XNLXPREFERENCES{_NONCE}X",
    # After each counted link (render/click_links.py): the message's part of the link.
    "click_suffix": f"XNLXCLICK{_NONCE}X",
    # The full stop after the name: none when the name ends a sentence itself ("Casey C."),
    # so that the greeting never reads "Good morning, Casey C..".
    "full_stop": f"XNLXSTOP{_NONCE}X",
}
SENTENCE_ENDS = (".", "!", "?", "\u2026")


def full_stop(name: str) -> str:
    """What goes after the name where a sentence ends: "." unless the name has its own."""
    return "" if name.rstrip().endswith(SENTENCE_ENDS) else "."


@dataclass(frozen=True)
class Personal:
    name: str  # already one line (text.one_line); "" for someone we know no name of
    unsubscribe_url: str
    preferences_url: str
    click_suffix: str = ""  # where links are counted: "/<message token>" (render/click_links.py)

    @property
    def full_stop(self) -> str:
        return full_stop(self.name)


class TransformedPlaceholder(ConfigurationError):
    def __init__(self, what: str):
        super().__init__(f"an email template transforms a personal value ({what}); personal values "
                         "can only be printed as they are, because they are filled in per message")


class Placeholder(str):
    """A placeholder that refuses the string operations a template filter would apply."""

    def _refuse(self, *args, **kwargs):
        raise TransformedPlaceholder("a filter or a method on it")

    upper = lower = title = capitalize = swapcase = casefold = _refuse
    strip = lstrip = rstrip = split = rsplit = replace = center = format = _refuse
    __getitem__ = __len__ = __iter__ = __mod__ = _refuse

    def __bool__(self) -> bool:  # `{% if personal.name %}` asks this, not __len__
        return True


def template_values(named: bool) -> dict[str, str]:
    """What `personal` is in a template: placeholders; no name for the nameless variant."""
    values = {key: Placeholder(ph) for key, ph in PLACEHOLDERS.items()}
    if not named:
        values["name"] = ""
    return values


def check_rendered(subject: str, *bodies: str) -> None:
    """Placeholders only where they will be substituted, and never in the subject (one
    subject is shared by every recipient of a variant). Any other trace of the nonce
    means a template changed a placeholder."""
    if _NONCE in subject.upper():
        raise TransformedPlaceholder("a personal value in the subject")
    for body in bodies:
        exact = sum(body.count(ph) for ph in PLACEHOLDERS.values())
        if body.upper().count(_NONCE) != exact:
            raise TransformedPlaceholder("the rendered email holds a changed placeholder")


def personalise(markup: str | None, text: str, personal: Personal) -> tuple[str | None, str]:
    """(html, text) for one reader: substitution only, values escaped for HTML."""
    for key, placeholder in PLACEHOLDERS.items():
        value = getattr(personal, key)
        if markup is not None:
            markup = markup.replace(placeholder, html.escape(value, quote=True))
        text = text.replace(placeholder, value)
    return markup, text
