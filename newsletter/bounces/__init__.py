"""Bounces and complaints that arrive after the relay accepted a message.

RFC 3464 delivery-status notifications and RFC 5965 (ARF) feedback reports come from
a mailbox (Maildir, mbox, IMAP: sources.py) or are posted by a relay (web/bounce_routes.py).
Every report is stored raw first (store.py), then processed (process.py): parsed
(parse.py), matched to a delivery or a subscriber (match.py), and turned into the same
events and suppressions as a refusal while sending (subscribers/lifecycle.py). A report
whose processing failed keeps its bytes and its error, and `newsletter bounces
reprocess` runs it again after a fix.
"""
