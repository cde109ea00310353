"""Rendering: an edition becomes subject, HTML and text once per section set."""
