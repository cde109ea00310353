"""Log lines: redaction of tokens and passwords, one line per event, JSON lines, context ids."""
from __future__ import annotations

import io
import json
import logging

import pytest

from newsletter.config import Settings
from newsletter.logs import JsonFormatter, RedactSecrets, TextFormatter, logging_config, redact

TOKEN = "WzEsMiwzLG51bGxd.Xk3-aB_c9"
API_TOKEN = "nlt_q3V-x_9LbZk2mT0aYw8e1RfHcJ4sUoPn6iDgE5vKtQ"  # the shape api_tokens.create makes


@pytest.mark.parametrize(("text", "expected"), [
    (f'"GET /u/{TOKEN} HTTP/1.1" 200', '"GET /u/[redacted] HTTP/1.1" 200'),
    (f"POST /u/{TOKEN}/reason", "POST /u/[redacted]/reason"),
    (f"POST /u/{TOKEN}/resubscribe", "POST /u/[redacted]/resubscribe"),
    (f"/u/{TOKEN}/resubscribe?undo_token={TOKEN}", "/u/[redacted]/resubscribe?undo_token=[redacted]"),
    (f"https://news.example.com/preferences/{TOKEN}?x=1", "https://news.example.com/preferences/[redacted]?x=1"),
    (f"/confirm/{TOKEN}", "/confirm/[redacted]"),
    (f'"POST /address/{TOKEN} HTTP/1.1" 200', '"POST /address/[redacted] HTTP/1.1" 200'),
    (f"https://news.example.com/admin/set-password/{TOKEN}", "https://news.example.com/admin/set-password/[redacted]"),
    (f"/editions/abc?t={TOKEN}", "/editions/abc?t=[redacted]"),
    (f"/x?a=1&token={TOKEN}&b=2", "/x?a=1&token=[redacted]&b=2"),
    ("/x?csrf_token=abc&Password=hunter2", "/x?csrf_token=[redacted]&Password=[redacted]"),
    ("postgresql://newsletter:s3cret@postgres:5432/newsletter", "postgresql://newsletter:[redacted]@postgres:5432/newsletter"),
    ("/admin/logout?csrf=c5rf-Val_ue&next=/admin", "/admin/logout?csrf=[redacted]&next=/admin"),
    ("/x?api_key=k1&apiKey=k2&key=k3&session=s1&session_id=s2",
     "/x?api_key=[redacted]&apiKey=[redacted]&key=[redacted]&session=[redacted]&session_id=[redacted]"),
    (f'"GET /api/v1/subscribers?q={API_TOKEN} HTTP/1.1" 401',
     '"GET /api/v1/subscribers?q=nlt_[redacted] HTTP/1.1" 401'),
    (f"/api/v1/tokens/{API_TOKEN}/x", "/api/v1/tokens/nlt_[redacted]/x"),
    (f"Authorization: Bearer {API_TOKEN}", "Authorization: Bearer nlt_[redacted]"),
    ("POST /bounces/inbound?recipient=bounces+assrvcc3cosvjjtdoy@spacewar.example.com HTTP/1.1",
     "POST /bounces/inbound?recipient=bounces+[redacted]@spacewar.example.com HTTP/1.1"),
    ("recipient=bounces%2Bassrvcc3cosvjjtdoy%40news.example.com", "recipient=bounces%2B[redacted]%40news.example.com"),
    # List-Unsubscribe's mailto: address, in a header, a query, a logged address
    ("List-Unsubscribe: <https://n.example.com/u/x>,<mailto:unsubscribe+aaaabbbbccccdddd2345@bounces.example.com>",
     "List-Unsubscribe: <https://n.example.com/u/[redacted]>,<mailto:unsubscribe+[redacted]@bounces.example.com>"),
    ("to=UNSUBSCRIBE%2Baaaabbbb2345%40news.example.com", "to=UNSUBSCRIBE%2B[redacted]%40news.example.com"),
])
def test_redact_replaces_tokens_and_passwords(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent


@pytest.mark.parametrize("text", ["/editions/abc123?publication=spacewar-daily", "/subscribe", "/healthz",
                                  "GET /static/u.css", "redis://redis:6379/0", "edition 3: 500 sent",
                                  "/api/v1/subscribers?q=session&keyset=1&status=active",
                                  "token nlt_q3V-x_ revoked"])  # the prefix a token list shows
def test_redact_leaves_other_text_alone(text):
    assert redact(text) == text


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    return logger, stream


def test_json_lines_carry_the_context_ids_and_no_token():
    logger, stream = _logger(JsonFormatter())
    logger.info("sent %s", f"/u/{TOKEN}", extra={"edition_id": 7, "batch": "(0, 500]", "delivery_id": 42})
    try:
        raise RuntimeError(f"boom at /confirm/{TOKEN}")
    except RuntimeError:
        logger.exception("failed for\nsomeone", extra={"edition_id": 7})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "sent /u/[redacted]"
    assert (first["edition_id"], first["batch"], first["delivery_id"]) == (7, "(0, 500]", 42)
    assert first["level"] == "INFO" and first["time"].endswith("Z")
    assert "delivery_id" not in second and "Traceback" in second["exception"]
    assert "/confirm/[redacted]" in second["exception"]
    assert TOKEN not in stream.getvalue()


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_access_lines_carry_no_key_session_csrf_or_api_token(formatter):
    logger, stream = _logger(formatter)
    logger.info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET",
                f"/api/v1/x/{API_TOKEN}?csrf=c1&api_key=k1&key=k2&session=s1&q={API_TOKEN}", 401)
    line = stream.getvalue()
    message = json.loads(line)["message"] if isinstance(formatter, JsonFormatter) else line
    assert "/api/v1/x/nlt_[redacted]?csrf=[redacted]&api_key=[redacted]&key=[redacted]&session=[redacted]" \
           "&q=nlt_[redacted] HTTP/1.1" in message
    for secret in (API_TOKEN, "c1", "k1", "k2", "s1"):
        assert f"={secret}" not in line and f"/{secret}" not in line


def test_text_lines_are_one_line_per_event_even_with_a_traceback():
    logger, stream = _logger(TextFormatter())
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("edition failed\r\nFAKE 2026 INFO forged line", extra={"edition_id": 3})
    output = stream.getvalue()
    assert output.count("\n") == 1 and output.endswith("\n")
    assert " ERROR test.logs." in output and "edition_id=3" in output and "Traceback" in output
    assert "\\r\\nFAKE" in output  # a CR/LF inside a value cannot start a line of its own


def test_every_handler_redacts_and_uvicorn_goes_through_it():
    config = logging_config(Settings(log_format="json", log_level="warning"))
    assert config["root"]["level"] == "WARNING"
    assert all("redact" in h["filters"] for h in config["handlers"].values())
    assert {h["formatter"] for h in config["handlers"].values()} == {"json"}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name] == {"handlers": [], "propagate": True}


def test_log_settings_are_checked():
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")
    with pytest.raises(ValueError, match="log_level"):
        Settings(log_level="LOUD")
