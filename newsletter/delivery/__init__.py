"""Delivery: one record per (edition, subscriber), claimed, sent and recorded."""
