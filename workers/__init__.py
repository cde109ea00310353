"""Celery adapters: thin tasks that call newsletter/ with ids and plain values.

Installed as `newsletter.workers` (pyproject package-dir maps this folder there, as it
maps templates/ and config/), so no top-level `workers` lands in site-packages.
`celery -A newsletter.workers worker` finds the app here; `celery -A newsletter.workers
beat` runs the schedule.
"""
from newsletter.workers.app import app

__all__ = ["app"]
