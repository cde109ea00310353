"""Logging for every process (web, workers, beat, migrate): one line per event, as text
or as JSON lines (NEWSLETTER_LOG_FORMAT=json), with secrets redacted before any handler
writes them.

Subscriber links carry live tokens (one-click unsubscribe, preferences, confirmation,
the personal edition view). Whoever reads a log line with one can act as that
subscriber, so the redaction filter sits on every handler we install, uvicorn's access
log included, and rewrites the message, the traceback and the stack before formatting.

Context: pass ids with ``extra=`` (``log.info("sent", extra={"edition_id": 3})``); the
fields in CONTEXT_FIELDS become JSON keys, or ``key=value`` pairs at the end of a text line.
"""
from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime

from newsletter.config import Settings

REDACTED = "[redacted]"
CONTEXT_FIELDS = ("edition_id", "batch", "delivery_id")
_SAFE_END = r"\s?#&\"'<>"  # where a token in a path or a query value ends

_SECRETS = [
    # /u/<token>, /u/<token>/reason, /preferences/<token>, /confirm/<token>, /address/<token>,
    # /admin/set-password/<token>
    (re.compile(rf"(/(?:u|preferences|confirm|address|admin/set-password)/)[^/{_SAFE_END}]+"), rf"\1{REDACTED}"),
    # /r/<link token>/<message token> and /o/<...> (counted links, the open pixel): both parts
    (re.compile(rf"(/[ro]/)[^{_SAFE_END}]+"), rf"\1{REDACTED}"),
    # query values: ?t= (the edition view), csrf=, session= (and session_id=), and any name
    # ending in token, password, secret or key (key=, api_key=, apiKey=)
    (re.compile(rf"([?&;](?:t|csrf|[\w.-]*session(?:[_-]?id)?|[\w.-]*token|[\w.-]*password|[\w.-]*passwd"
                rf"|[\w.-]*secret|[\w.-]*key)=)[^{_SAFE_END}]*", re.IGNORECASE), rf"\1{REDACTED}"),
    # an API token (nlt_ and 43 characters) anywhere: a path, any query value, a header; the
    # 10 characters a token list shows to recognise one (nlt_ and 6) stay readable
    (re.compile(r"(?<![A-Za-z0-9])nlt_[\w-]{7,}"), f"nlt_{REDACTED}"),
    # a VERP bounce address (bounces+<token>@domain) or a mailto: unsubscribe address
    # (unsubscribe+<token>@domain), plain or URL-encoded (%2B, %40)
    (re.compile(r"((?:bounces|unsubscribe)(?:\+|%2B))[A-Za-z0-9_-]+((?:@|%40))", re.IGNORECASE), rf"\1{REDACTED}\2"),
    # scheme://user:password@host (database, broker and relay URLs)
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+(@)", re.IGNORECASE), rf"\1{REDACTED}\2"),
]


def redact(text: str) -> str:
    """The text with every token, password and URL credential replaced by [redacted]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record in place: its message (arguments merged in), its traceback and
    its stack. Idempotent, so a record passing several handlers is redacted once in effect."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep both
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(record: logging.LogRecord) -> dict:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, None) is not None}


def _extras(record: logging.LogRecord) -> str:
    """Traceback and stack of a record, as already redacted by the filter."""
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return "\n".join(part for part in (record.exc_text, record.stack_info) if part)


class TextFormatter(logging.Formatter):
    """`2026-11-28T06:00:00.123Z INFO logger message edition_id=3`: one line, always.
    Newlines (a traceback, or a CR/LF smuggled into a logged value) are written as \\n,
    so no event spans lines and no value can forge a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        context = " ".join(f"{k}={v}" for k, v in _context(record).items())
        extras = _extras(record)
        line += (f" {context}" if context else "") + (f" {extras}" if extras else "")
        return line.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, and the
    traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        event = {"time": _timestamp(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(), **_context(record)}
        extras = _extras(record)
        if extras:
            event["exception"] = extras
        return json.dumps(event, ensure_ascii=False, default=str)


class OneLine(logging.Filter):
    """For a library that logs its own caught exceptions with a traceback where the input,
    not the code, is at fault: flufl.bounce's detectors choke on garbage posted to the
    bounce intake (the report is stored as unreadable all the same). One warning line
    naming the exception instead of a traceback per detector (and not its line per
    detector run at INFO: the logger is set to WARNING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:200]}".replace("\n", " ")
            record.args, record.exc_info, record.exc_text = (), None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


QUIET_TRACEBACKS = ("flufl.bounce",)


def logging_config(settings: Settings) -> dict:
    """A logging.config.dictConfig dictionary. uvicorn takes the same one (`log_config`),
    so its error and access logs reach our handler instead of its own."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}, "one_line": {"()": OneLine}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": settings.log_format, "filters": ["redact"]}},
        # uvicorn's and Celery's loggers lose their own handlers and go through the root one.
        "loggers": {**{name: {"handlers": [], "propagate": True}
                       for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")},
                    **{name: {"filters": ["one_line"], "level": "WARNING"} for name in QUIET_TRACEBACKS}},
        "root": {"handlers": ["stderr"], "level": settings.log_level},
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
    logging.captureWarnings(True)  # warnings.warn goes through the same handler and filter
