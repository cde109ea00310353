"""Daily digest newsletters: article store -> editions -> render -> delivery -> tracking.

This package is the domain library. It never imports Celery: the adapters in
``workers/`` call into it with ids and plain values.
"""
