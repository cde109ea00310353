"""The dashboard: failing feeds first (a dead feed is news), the next sends, the editions
sending now with their progress (a small script polls /admin/sending.json and moves the
bars), and the last seven days of sent messages, unsubscribes and bounces as bar charts
drawn on the server (SVG)."""
from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from newsletter.db import utcnow
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import EditionStatus
from newsletter.operators import editions, feeds, figures, publications
from newsletter.web.admin.console import console

router = APIRouter()
LIVE = (EditionStatus.SENDING, EditionStatus.PAUSED)
CHART_W, CHART_H, BAR_GAP = 350, 120, 8


def meter(progress: dict) -> dict:
    """How far a send is: messages done (sent, failed, skipped) of the whole audience."""
    counts = progress["counts"]
    finished = sum(counts.get(state, 0) for state in (D.SENT, D.FAILED, D.SKIPPED))
    total = finished + progress["remaining"] + counts.get(D.HELD, 0)
    pct = int(100 * finished / total) if total else 0
    rate = progress.get("rate_per_second") or 0
    eta = progress.get("eta_seconds")
    label = f"{finished:,} of {total:,} ({pct}%), {counts.get(D.SENT, 0):,} sent, {counts.get(D.FAILED, 0):,} failed"
    if rate:
        label += f", {rate:.1f}/s"
    if eta:
        label += f", about {int(eta // 60)} min {int(eta % 60)} s left"
    if progress.get("waiting"):  # in waves: the time left is the due waves'
        label += f"; {progress['waiting']:,} waiting for their wave"
    return {"done": finished, "total": total, "percent": pct, "label": label}


def live(c) -> list[dict]:
    out = []
    for status in LIVE:
        items, _ = editions.editions(c.db, c.actor, status=status, limit=20)
        for e in items:
            progress = editions.edition(c.db, c.actor, e["id"])["progress"]
            out.append({**e, "meter": meter(progress), "pause_reason": progress["pause_reason"]})
    return out


def next_sends(c, now: datetime, count: int = 8) -> list[tuple[str, str, str]]:
    """(UTC time, publication name, slug), soonest first, across publications."""
    times = [(t, p["name"], p["slug"]) for p in publications.publications(c.db, c.actor, now)
             for t in p["next_sends"]]
    return sorted(times)[:count]


def chart(days: list[dict], value) -> dict:
    """Bars for one figure over the days, scaled to the largest (at least 1)."""
    values = [value(d) for d in days]
    top = max(values + [1])
    width = (CHART_W - BAR_GAP * (len(days) - 1)) / max(len(days), 1)
    bars = []
    for i, (d, v) in enumerate(zip(days, values, strict=True)):
        h = round((CHART_H - 34) * v / top, 1)
        bars.append({"x": round(i * (width + BAR_GAP), 1), "y": CHART_H - 18 - h, "w": round(width, 1), "h": h,
                     "value": v, "day": d["date"][5:]})
    return {"bars": bars, "total": sum(values), "width": CHART_W, "height": CHART_H}


@router.get("/admin")
def dashboard(request: Request):
    now = utcnow()
    with console(request) as c:
        end = now.date()
        days = figures.per_day(c.db, c.actor, end - timedelta(days=6), end)
        charts = [("Sent", chart(days, lambda d: d["sent"])),
                  ("Unsubscribes", chart(days, lambda d: d["unsubscribes"]["total"])),
                  ("Bounces", chart(days, lambda d: d["bounces"]))]
        sending = live(c)
        return c.page("dashboard.html", polls=True, sending=sending, ids=",".join(str(e["id"]) for e in sending),
                      upcoming=next_sends(c, now), charts=charts, failing_feeds=feeds.failing(c.db, c.actor, now))


@router.get("/admin/sending.json")
def sending_now(request: Request):
    """What the dashboard's script polls: the editions sending or paused, with progress."""
    with console(request) as c:
        return JSONResponse({"items": [{"id": e["id"], "status": e["status"], **e["meter"]} for e in live(c)]})
