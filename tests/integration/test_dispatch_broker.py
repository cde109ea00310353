"""The Celery dispatcher sends to the broker of the settings it was made with, whatever
broker the process's Celery application was configured with when it was first imported
(workers/dispatch.py). A real Redis; no worker needed: the task is read off the queue."""
from __future__ import annotations

import base64
import json

import pytest
import redis

from newsletter.config import Settings
from newsletter.workers.app import app
from newsletter.workers.dispatch import CeleryDispatcher
from tests.integration.stack import REDIS_URL

pytestmark = pytest.mark.slow


def _queued(client) -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the newsletter queue."""
    found = []
    for raw in reversed(client.lrange("newsletter", 0, -1)):  # kombu pushes on the left, pops on the right
        message = json.loads(raw)
        found.append((message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0]))
    return found


@pytest.mark.parametrize("app_broker", ["memory://", "redis://127.0.0.1:6379/15"])
def test_a_task_goes_to_the_settings_broker_whatever_the_application_was_made_with(tmp_path, monkeypatch,
                                                                                     app_broker):
    client = redis.Redis.from_url(REDIS_URL)
    client.delete("newsletter")
    # The application as an earlier import left it: no broker, or another one (the test
    # command line's `send` went to memory:// after an earlier test imported the app).
    monkeypatch.setitem(app.conf, "broker_url", app_broker)
    dispatcher = CeleryDispatcher(Settings(var_dir=tmp_path, broker_url=REDIS_URL))
    try:
        dispatcher.deliver_edition(41)
        dispatcher.send_address_change(7)
        assert _queued(client) == [("newsletter.drive", [41]), ("newsletter.send_address_change", [7, "old"]),
                                   ("newsletter.send_address_change", [7, "new"])]
    finally:
        client.delete("newsletter")
