"""Bounces and complaints that arrive after the relay accepted a message.

RFC 3464 delivery-status notifications, plain-text bounces and RFC 5965 (ARF) feedback
reports come from a mailbox (Maildir, mbox, IMAP: sources.py) or are posted by a relay
(web/bounce_routes.py). Every report is stored raw first (store.py), then processed
(process.py): read (parse.py; the human-readable notice: notice.py), each recipient
judged by one rule (verdict.py), matched to a delivery or a subscriber (match.py),
counted (score.py) and turned into the same events and suppressions as a refusal while
sending (subscribers/lifecycle.py). A report whose processing failed keeps its bytes and
its error, and `newsletter bounces reprocess` runs it again after a fix; `reprocess
--since` reads old reports again with today's rules and mends (rereading.py).

The way in for another source of reports (a provider's webhook), narrow on purpose:
1. store the event's bytes as they came: `intake.receive(engine, settings, raw,
   source="<provider>:<detail>")` (commits; the same bytes are stored once);
2. read them: a function `(raw: bytes) -> parse.ParsedReport` registered in
   `parse.PROVIDER_READERS["<provider>"]`, which builds each recipient with
   `parse.finding(address, action, status, diagnostic)` (the verdict rule applies; a
   complaint: `RecipientReport(address, "complaint", feedback_type, detail,
   BounceKind.COMPLAINT)`), and sets `verp_candidates` / `message_ids` from the event's
   own traces where it has them;
3. process them: `intake.process_ids(engine, settings, [report_id])`.
"""
