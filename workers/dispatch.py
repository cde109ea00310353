"""The dispatcher the command line and the web use when a broker is configured."""
from __future__ import annotations

from newsletter.config import Settings
from newsletter.subscribers.signup import SignupRequest


class CeleryDispatcher:
    def __init__(self, settings: Settings):
        self.settings = settings

    def deliver_edition(self, edition_id: int) -> str:
        from workers.tasks import drive

        drive.delay(edition_id)
        return f"edition {edition_id}: queued for the workers (see `newsletter editions status {edition_id}`)"

    def send_confirmation(self, subscription_id: int) -> None:
        from workers.tasks import send_confirmation

        send_confirmation.delay(subscription_id)

    def send_welcome(self, subscription_id: int) -> None:
        from workers.tasks import send_welcome

        send_welcome.delay(subscription_id)

    def send_address_change(self, change_id: int) -> None:
        from workers.tasks import send_address_change

        for side in ("old", "new"):
            send_address_change.delay(change_id, side)

    def process_signup(self, request: SignupRequest) -> None:
        from workers.tasks import process_signup

        process_signup.delay(request.publication_id, request.email, request.name, request.sections,
                             request.timezone)
