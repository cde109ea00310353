"""Which dispatcher runs the work the front doors start: in this process without a
broker (jobs.InlineDispatcher), or on the Celery workers with one (workers/dispatch.py,
which sends the tasks by name). The one place in the package that names `workers`:
the import contract (pyproject, [tool.importlinter]) allows this import and no other,
and it is made only when a broker is configured, so a command line without one never
loads Celery."""
from __future__ import annotations

from newsletter.config import Settings
from newsletter.jobs import Dispatcher, InlineDispatcher


def dispatcher(settings: Settings) -> Dispatcher:
    if not settings.broker_url:
        return InlineDispatcher(settings)
    from newsletter.workers.dispatch import CeleryDispatcher

    return CeleryDispatcher(settings)
