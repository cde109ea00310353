"""The dispatcher the command line and the web use when a broker is configured
(newsletter/dispatchers.py picks it). Tasks are sent by name: this module needs the
Celery application's broker settings, not the tasks' code, so the command line does not
load the domain's task modules and the tasks (which import the domain) are not imported
back from it.

The broker is the one of the settings this dispatcher was made with. The Celery
application reads the process's settings once, when it is first imported; a dispatcher
made with other settings (a process that serves another install, the tests' in-process
command line after an earlier test imported the app without a broker) sends over a
connection of its own to its own broker, never to the application's: a task sent to
the wrong broker was "queued" and never run."""
from __future__ import annotations

from newsletter.config import Settings
from newsletter.subscribers.signup import SignupRequest


class CeleryDispatcher:
    def __init__(self, settings: Settings):
        from newsletter.workers.app import app  # Celery, loaded only by a process that sends to the workers

        self.settings = settings
        self.app = app

    def _send(self, name: str, args: tuple = ()) -> None:
        if self.settings.broker_url == self.app.conf.broker_url:
            self.app.send_task(name, args)  # the application's pooled connection
            return
        with self.app.connection_for_write(self.settings.broker_url) as connection:
            self.app.send_task(name, args, connection=connection)

    def deliver_edition(self, edition_id: int) -> str:
        self._send("newsletter.drive", (edition_id,))
        return f"edition {edition_id}: queued for the workers (see `newsletter editions status {edition_id}`)"

    def deliver_webhooks(self) -> str:
        self._send("newsletter.webhooks_due")
        return "webhooks: queued for the workers"

    def send_confirmation(self, subscription_id: int) -> None:
        self._send("newsletter.send_confirmation", (subscription_id,))

    def send_welcome(self, subscription_id: int) -> None:
        self._send("newsletter.send_welcome", (subscription_id,))

    def send_address_change(self, change_id: int) -> None:
        for side in ("old", "new"):
            self._send("newsletter.send_address_change", (change_id, side))

    def process_signup(self, request: SignupRequest) -> None:
        self._send("newsletter.process_signup", (request.publication_id, request.email, request.name,
                                                         request.sections, request.timezone))
