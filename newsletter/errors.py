"""One family of errors, so that every front door presents them the same way.

Each error carries a message written for the person who asked: the command line
prints it on one line, the web shows it on a 4xx page, the API returns it as an
RFC 9457 problem document. The class says which: `status` is the HTTP status,
and the command line exits with 2 for every one of them.
"""
from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error the project raises on purpose."""

    status = 500
    title = "Something went wrong"


class InvalidInput(NewsletterError, ValueError):
    """Input from outside (a feed, a CSV, a form, a token, an argument) is not acceptable.
    Nothing was changed."""

    status = 400
    title = "Invalid input"


class NotFound(NewsletterError, LookupError):
    status = 404
    title = "Not found"


class Conflict(NewsletterError):
    """The thing exists but its state does not allow this (a sent edition cannot be paused)."""

    status = 409
    title = "Not possible now"


class Forbidden(NewsletterError):
    """The caller is known but their role does not allow this."""

    status = 403
    title = "Not allowed"


class ConfigurationError(NewsletterError):
    """Settings or the publications file are wrong; the message says which and how. On
    the web: 503 (this service cannot do it until an operator fixes it; the message is
    logged, not shown)."""

    status = 503
    title = "Configuration error"


class Unavailable(NewsletterError):
    """A service this needs (database, broker, relay) does not answer."""

    status = 503
    title = "Service unavailable"
