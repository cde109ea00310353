"""Tracking: unsubscribe tokens and the events of who left, how and from which edition."""
