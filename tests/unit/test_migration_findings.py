"""Migration 0015 (bounce findings) on a database that already holds reports: each report
read so far becomes its one finding, as the old processing left it (a mailed report, a
provider's event, a bounced confirmation that named nobody), and whether it suppressed;
mail to an unsubscribe address and unread reports make none. On both databases."""
from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceFinding, BounceReport
from newsletter.db import get_engine, utcnow
from newsletter.schema import alembic_config
from newsletter.subscribers.models import Subscriber
from tests.databases import drop_pg_database, pg_admin, pg_url


@pytest.fixture
def fresh_url(backend_name, tmp_path):
    """An empty database (not the migrated template)."""
    if backend_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        yield url
        get_engine(url).dispose()
        return
    name = f"nl_fresh_{uuid.uuid4().hex[:10]}"
    with pg_admin().connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    drop_pg_database(pg_url(name))


REPORTS = [  # what processing before 0015 left on the report
    dict(kind="hard", recipient="ann@example.org", matched_by="verp", status="parsed", provider="",
         outcome="hard: ann@example.org suppressed, subscription ended", mine=True),
    dict(kind="policy", recipient="ANN@example.org", matched_by="address", status="parsed", provider="ses",
         outcome="policy refusal 5.7.1: nobody suppressed", mine=True),
    dict(kind="hard", recipient="typo@example.org", matched_by="verp", status="parsed", provider="",
         outcome="the confirmation of a sign-up bounced (hard): that sign-up request ended (nobody suppressed)",
         mine=False),
    dict(kind="soft", recipient="zed@example.net", matched_by="", status="unmatched", provider="postmark",
         outcome="soft for zed@example.net: no delivery or subscriber of ours", mine=False),
    dict(kind="", recipient="ann@example.org", matched_by="mailto", status="parsed", provider="",
         outcome="unsubscribed from daily by mail", mine=True),
    dict(kind="", recipient="", matched_by="", status="failed", provider="", outcome="kept", mine=False),
]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_reports_read_before_become_findings(fresh_url):
    command.upgrade(alembic_config(fresh_url), "0014")
    engine = get_engine(fresh_url)
    with Session(engine) as s:
        ann = Subscriber(email="ann@example.org")
        s.add(ann)
        s.flush()
        for n, r in enumerate(REPORTS):
            values = {k: v for k, v in r.items() if k != "mine"}
            s.execute(insert(BounceReport.__table__).values(
                received_at=utcnow(), source="http", envelope_to="", sha256=f"{n:064d}", raw=b"x",
                parse_error="", report_type="dsn", status_code="5.1.1", diagnostic="said", attempts=1,
                subscriber_id=ann.id if r["mine"] else None, **values))
        s.commit()
        ann_id = ann.id

    command.upgrade(alembic_config(fresh_url), "head")

    with Session(engine) as s:
        found = s.execute(select(BounceReport.recipient, BounceFinding.position, BounceFinding.kind,
                                 BounceFinding.matched_by, BounceFinding.subscriber_id, BounceFinding.suppressed,
                                 BounceFinding.status_code, BounceFinding.diagnostic)
                          .join(BounceReport, BounceReport.id == BounceFinding.report_id)
                          .order_by(BounceReport.id)).all()
    assert found == [
        ("ann@example.org", 0, "hard", "verp", ann_id, True, "5.1.1", "said"),
        ("ANN@example.org", 0, "policy", "address", ann_id, False, "5.1.1", "said"),
        ("typo@example.org", 0, "hard", "verp", None, False, "5.1.1", "said"),  # nobody's, never suppressed
        ("zed@example.net", 0, "soft", "", None, False, "5.1.1", "said"),
    ]
