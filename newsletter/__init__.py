"""Daily digest newsletters: article store -> editions -> render -> delivery -> tracking.

This package is the domain library and its front doors (cli/, web/, api/). It never
imports Celery: the tasks in ``workers/`` (installed as ``newsletter.workers``) call into
it with ids and plain values. The layers and the rule are the import contract in
pyproject.toml (``make lint``).
"""
