"""Bounces and complaints that arrive after the relay accepted a message.

RFC 3464 delivery-status notifications, plain-text bounces and RFC 5965 (ARF) feedback
reports come from a mailbox (Maildir, mbox, IMAP: sources.py) or are posted by a relay
(web/bounce_routes.py); email service providers post theirs as signed webhooks
(providers/, web/webhook_routes.py, stored by webhooks.py). Every report is stored raw
first (store.py), then processed by one path (process.py): mail to a List-Unsubscribe
mailto: address is an unsubscribe request (unsubscribe_mail.py); anything else is read
(parse.py, the human-readable notice: notice.py; a provider's event: its reader in
providers/), each recipient a finding judged by one rule (verdict.py), matched to a
delivery, a subscriber or a personal email's request (match.py, personal.py), counted
(score.py) and turned into the same events and suppressions as a refusal while sending
(subscribers/lifecycle.py). A report whose processing failed keeps its bytes and its
error, and `newsletter bounces reprocess` runs it again after a fix; `reprocess --since`
reads old reports again with today's rules, provider events included, and mends
(rereading.py).

The way in for another provider, narrow on purpose (providers/__init__.py):
1. verify the request the way the provider signs it, and store each event raw with its
   provider and the provider's own id: `webhooks.receive(engine, settings, provider,
   events)` (commits; an id stored before is not stored again);
2. read a stored event: a function `(raw: bytes) -> parse.ParsedReport` in
   `providers.READERS[provider]`, building each failed recipient with
   `providers.common.failure` (parse.finding: the verdict rule judges the provider's
   status and diagnostic; the provider's "temporary" is never more than soft) and what
   the provider classes itself (a complaint, a delay) with `common.classed`, and setting
   `verp_candidates` / `message_ids` from the event's own traces where it has them;
3. process them: `intake.process_ids(engine, settings, ids)`.
"""
