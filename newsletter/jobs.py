"""Jobs run in the calling process: the embedded default, with no broker configured."""
from __future__ import annotations

from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.delivery.confirmation import send_confirmation
from newsletter.delivery.run import deliver_inline


class InlineDispatcher:
    def __init__(self, settings: Settings):
        self.settings = settings

    def deliver_edition(self, edition_id: int) -> str:
        from newsletter import runtime

        engine = runtime.engine_for(self.settings)
        status, counts = deliver_inline(
            engine, self.settings, edition_id, runtime.backend(self.settings),
            lambda pub: runtime.limiter(self.settings, pub.domain_rate_per_second))
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if v)
        return f"edition {edition_id}: {status}" + (f" ({parts})" if parts else "")

    def send_confirmation(self, subscription_id: int) -> None:
        from newsletter import runtime

        with Session(runtime.engine_for(self.settings)) as session:
            send_confirmation(session, self.settings, runtime.backend(self.settings), subscription_id)
