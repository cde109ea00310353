"""Bounces and complaints that email service providers report as signed webhooks.

One module per provider, each with the same three parts:
- `verify`: the request is the provider's, checked the way it signs (Amazon SNS's
  certificate signature, Postmark's basic auth, SendGrid's ECDSA, Mailgun's HMAC);
  `Unauthorised` otherwise, and nothing is stored;
- `events`: the events of the request we act on, each with the provider's own id and
  its JSON as the provider sent it: stored raw first (bounces/webhooks.py), once per id;
- `read`: one stored event as a ParsedReport (bounces/parse.py) whose recipients are
  findings built as a mailed report's are (parse.finding): processing plans, matches and
  acts on each one by the same path (bounces/process.py), and `bounces reprocess
  --since` reads it again with the same reader (bounces/rereading.py).

What a provider calls permanent is taken for what our rule (bounces/verdict.py) reads in
the status and diagnostic it passes on (common.failure), so that a "permanent" refusal
about policy, spam or the sender never suppresses anyone; what it calls temporary is
never more than soft.
"""
from __future__ import annotations

from newsletter.bounces.parse import ParsedReport
from newsletter.bounces.providers import mailgun, postmark, sendgrid, ses

READERS = {"ses": ses.read, "postmark": postmark.read, "sendgrid": sendgrid.read, "mailgun": mailgun.read}


def read(provider: str, raw: bytes) -> ParsedReport:
    """A stored event as a report; ReportUnreadable when it says nothing we can act on."""
    return READERS[provider](raw)
