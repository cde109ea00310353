"""The dispatcher the command line and the web use when a broker is configured
(newsletter/dispatchers.py picks it). Tasks are sent by name: this module needs the
Celery application's broker settings, not the tasks' code, so the command line does not
load the domain's task modules and the tasks (which import the domain) are not imported
back from it."""
from __future__ import annotations

from newsletter.config import Settings
from newsletter.subscribers.signup import SignupRequest


class CeleryDispatcher:
    def __init__(self, settings: Settings):
        from newsletter.workers.app import app  # Celery, loaded only by a process that sends to the workers

        self.settings = settings
        self.app = app

    def deliver_edition(self, edition_id: int) -> str:
        self.app.send_task("newsletter.drive", (edition_id,))
        return f"edition {edition_id}: queued for the workers (see `newsletter editions status {edition_id}`)"

    def deliver_webhooks(self) -> str:
        self.app.send_task("newsletter.webhooks_due")
        return "webhooks: queued for the workers"

    def send_confirmation(self, subscription_id: int) -> None:
        self.app.send_task("newsletter.send_confirmation", (subscription_id,))

    def send_welcome(self, subscription_id: int) -> None:
        self.app.send_task("newsletter.send_welcome", (subscription_id,))

    def send_address_change(self, change_id: int) -> None:
        for side in ("old", "new"):
            self.app.send_task("newsletter.send_address_change", (change_id, side))

    def process_signup(self, request: SignupRequest) -> None:
        self.app.send_task("newsletter.process_signup", (request.publication_id, request.email, request.name,
                                                         request.sections, request.timezone))
