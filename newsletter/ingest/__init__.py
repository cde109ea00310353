"""Ingestion: feeds (RSS, Atom, JSON Lines) into the article store."""
