"""Editions: frozen snapshots of the headlines of one publication for one date."""
