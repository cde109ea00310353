"""Outgoing webhooks: staff register URLs for subscriber and edition events; each event is
posted, signed, to every endpoint that asked for it, and retried with back-off.

outbox.py turns what happened into pending deliveries, in the transaction that made it
happen (so an event is posted if and only if it committed); deliver.py decides which are
due and posts them (beat's task on workers, `newsletter run`'s scheduler without them);
signing.py signs and verifies; post.py connects only to checked addresses.
"""
