"""Retention: a database (and an outbox) that stays its size. run.py is the entry."""
