"""For the API tests: staff accounts with tokens, HTTP clients per role, a fingerprint of
the whole database (to show that a refused or bad request changed nothing)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition
from newsletter.models import Base
from newsletter.staff import accounts, api_tokens
from newsletter.staff.access import cli_actor
from tests.integration.web.site import SettlingClient

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "operator", "admin")
RANK = {None: 0, "viewer": 1, "operator": 2, "admin": 3}
# Written by reads (touch times), not by changes.
_VOLATILE = {"api_tokens": {"last_used_at"}, "staff_sessions": {"last_seen_at"}}


@dataclass
class Staff:
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def email(self, role: str) -> str:
        return f"{role}@staff.example.org"


def make_staff(engine, settings) -> Staff:
    staff = Staff()
    with Session(engine, expire_on_commit=False) as s:
        for role in ROLES:
            account = accounts.add(s, cli_actor(), settings.signing_key(), staff.email(role), role, PASSWORD).account
            _, raw = api_tokens.create(s, cli_actor(), f"{role} token", None, account.id)
            staff.ids[role], staff.tokens[role] = account.id, raw
        s.commit()
    return staff


def client(server, token: str | None = None, **headers) -> SettlingClient:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return SettlingClient(server, base_url=server.url, timeout=60, follow_redirects=False, headers=headers)


def fingerprint(engine) -> list:
    out = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if c.name not in _VOLATILE.get(table.name, ())]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            out.append((table.name, [tuple(map(str, r)) for r in rows]))
    return out


def add_editions(engine, publication_id: int) -> tuple[int, int]:
    """One edition sending (nobody in its audience yet) and one built: for pause, resume, cancel."""
    now = utcnow()
    with Session(engine) as s:
        ids = []
        for days, status in ((1, "sending"), (2, "built")):
            e = Edition(publication_id=publication_id, date=date(2020, 1, days), status=status,
                        window_start=now - timedelta(days=days + 1), window_end=now - timedelta(days=days),
                        started_at=now if status == "sending" else None, max_subscriber_id=0)
            s.add(e)
            s.flush()
            ids.append(e.id)
        s.commit()
        return ids[0], ids[1]
