"""Celery adapters: thin tasks that call newsletter/ with ids and plain values.

`celery -A workers worker` finds the app here; `celery -A workers beat` runs the schedule.
"""
from workers.app import app

__all__ = ["app"]
