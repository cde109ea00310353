"""Subscribers, their subscriptions and the suppression list."""
