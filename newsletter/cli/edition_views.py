"""Looking at editions: `editions status|list|show|watch`, and the diff lines shared
by `preview --diff` and `editions rebuild`."""
from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from newsletter import runtime
from newsletter.cli.common import EDITION_ID, PUB_ARG, console, fail, publication, session_scope
from newsletter.cli.progress import follow_edition
from newsletter.config import get_settings
from newsletter.delivery.report import counts_by_edition, failures_by_class, report, report_now
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.delivery.wave_view import edition_waves
from newsletter.editions.diff import Diff
from newsletter.editions.models import EditionStatus as E
from newsletter.editions.overview import edition_detail, editions_of


def when(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC") if instant else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f} min"


def print_diff(d: Diff, against: str = "", limit: int = 15) -> None:
    if against:
        console.print(f"against {against}: {len(d.new)} new, {len(d.gone)} gone, {len(d.moved)} moved, "
                      f"{d.unchanged} unchanged", highlight=False)
    lines = ([("+", f"[{e.section}] {e.headline}") for e in d.new]
             + [("-", f"[{e.section}] {e.headline}") for e in d.gone]
             + [("~", f"[{m.was.section} #{m.was.rank} -> {m.entry.section} #{m.entry.rank}] {m.entry.headline}")
                for m in d.moved])
    for sign, kind in (("+", "new"), ("-", "gone"), ("~", "moved")):
        mine = [text for s, text in lines if s == sign]
        for text in mine[:limit]:
            console.print(f"  {sign} {text}", highlight=False, markup=False)
        if len(mine) > limit:
            console.print(f"  {sign} ... and {len(mine) - limit} more {kind}", highlight=False)


def _history_detail(detail: dict) -> str:
    if "items" in detail:
        return f" ({len(detail['items'])} headlines before)"
    if "by" in detail:
        return f" by edition {detail['by']}"
    if "replaces" in detail:
        return f" edition {detail['replaces']}"
    return ""


def waits(r, settings) -> list[str]:
    """What an edition that is sending waits for, if anything: the relay, a sender (work
    lost and being handed out again), or its retries."""
    lines = []
    if r.relay_down_since:
        lines.append(f"[yellow]waiting for the relay[/] since {when(r.relay_down_since)} "
                     f"({seconds((r.now - r.relay_down_since).total_seconds())}): {r.relay_error}; no attempt is "
                     "charged, sending resumes by itself when it answers")
    if r.idle:
        lines.append(f"[yellow]no work queued: recovering[/] (the sweeper hands the due work out again within "
                     f"{settings.sweep_interval_seconds}s)")
    elif r.only_retries_left:
        lines.append(f"{r.counts[D.RETRY]} wait for a retry (temporary failures), the next at {when(r.next_retry_at)}")
    return lines


def relay_lines(r) -> list[str]:
    """With several relays (or one down): sent by each, and which is down since when."""
    down = {name: (since, why) for name, since, why in r.relays_down}
    names = sorted(n for n in set(r.sent_by_relay) | set(down) if n)
    if len(names) < 2 and not down:
        return []
    lines = []
    for name in names:
        line = f"relay {name}: {r.sent_by_relay.get(name, 0)} sent"
        if name in down:
            line += (f"; [yellow]down[/] since {when(down[name][0])} ({down[name][1]}): its mail goes through the "
                     "others, no attempt is charged")
        lines.append(line)
    return lines


def print_waves(rows, title: str = "waves") -> None:
    """Every wave of a local-time send: zones, local and UTC time, subscribers, sent, state."""
    table = Table(title=title, box=None, padding=(0, 1, 0, 0), header_style="bold")
    for col in ("#", "zones", "local time", "UTC", "subscribers", "sent", "state"):
        table.add_column(col, justify="right" if col in ("#", "subscribers", "sent") else "left")
    for w in rows:
        table.add_row(str(w.position + 1), w.label, w.local, f"{w.send_at:%Y-%m-%d %H:%M}", str(w.subscribers),
                      str(w.sent), w.state)
    console.print(table)


def progress_line(r) -> str:
    """The figures `status` and `watch` end with (`list` shows the same "to go")."""
    eta = f", about {seconds(r.eta_seconds)} left" if r.eta_seconds is not None else ""
    line = (f"{r.total} in total, {r.audience} recorded, {r.remaining} to go; duration "
            f"{seconds(r.duration)}, {r.rate:.1f} messages/s since the start{eta}")
    p = r.wave_progress
    if p is not None:
        due = "the waves that are due" if r.due_remaining else "nothing due now"
        line = (f"{r.total} in total, {r.audience} recorded, {r.remaining} to go ({r.due_remaining} due now, "
                f"{r.waiting} waiting for their wave); {r.rate:.1f} messages/s in the current wave{eta}"
                f"{' (' + due + ')' if eta or not r.due_remaining else ''}")
        if p.next_wave_at:
            line += (f"; next wave at {p.next_wave_at:%Y-%m-%d %H:%M} UTC ({p.next_wave_subscribers} subscribers), "
                     f"the last at {p.last_wave_at:%Y-%m-%d %H:%M} UTC")
    return line


def register(editions_app: typer.Typer) -> None:
    @editions_app.command("status")
    def editions_status(edition_id: int = EDITION_ID):
        """Total, counts by delivery state, failures by class, holds, pauses, waits, rate and time left."""
        settings = get_settings()
        engine = runtime.engine_for(settings)
        with engine.connect() as conn:
            r = report_now(conn, settings, edition_id)
        table = Table(title=f"edition {edition_id}: {r.status}")
        states = (D.SENT, D.FAILED, D.SKIPPED, D.PENDING, D.SENDING, D.RETRY, D.HELD)
        for col in ("total", *states, "hard bounces"):
            table.add_column(str(col), justify="right")
        table.add_row(str(r.total), *(str(r.counts[s]) for s in states), str(r.hard_bounces))
        console.print(table)
        if r.failures:
            by_class = ", ".join(f"{k or 'unknown'} {v}" for k, v in sorted(r.failures.items()))
            console.print(f"failed by class: {by_class} (`newsletter editions show {edition_id}`: who and why)",
                          highlight=False)
        if r.pause_reason:
            console.print(f"[yellow]paused:[/] {r.pause_reason}", highlight=False)
        for domain, refusals, last in r.held_domains:
            console.print(f"[yellow]held domain {domain}[/] after {refusals} policy refusals (last: {last}); "
                          f"`newsletter editions release-domain {edition_id} {domain}` when fixed", highlight=False)
        for line in waits(r, settings):
            console.print(line, highlight=False)
        for line in relay_lines(r):
            console.print(line, highlight=False)
        if r.waves:
            print_waves(r.waves)
        console.print(progress_line(r), highlight=False)

    @editions_app.command("watch")
    def editions_watch(edition_id: int = EDITION_ID):
        """Follow an edition's delivery (sent by workers or another process) until it stops."""
        follow_edition(runtime.engine_for(get_settings()), edition_id, console)

    @editions_app.command("list")
    def editions_list(pub: str = PUB_ARG, limit: int = typer.Option(30, min=1, max=10000, help="the newest N")):
        """A publication's editions, newest first: date, state, headlines, deliveries, timings."""
        with session_scope() as session:
            p = publication(session, pub)
            rows = editions_of(session, p.id, limit)
            counts = counts_by_edition(session.connection(), [r.id for r in rows])
            # Editions under way: "to go" as `status` says it (waves not due yet included).
            to_go_of = {r.id: report(session.connection(), r.id).remaining for r in rows
                        if r.status in (E.SENDING, E.PAUSED)}
        # No borders, one space between columns: eleven columns fit 80 characters, and
        # counts and dates never wrap or shrink (at 80 columns "3042" once became "…").
        table = Table(title=f"{p.slug}: editions", box=None, padding=(0, 1, 0, 0), header_style="bold")
        numbers = ("id", "items", "sent", "fail", "skip", "to go")
        for col in ("id", "date", "status", "items", "sent", "fail", "skip", "to go", "started", "took", "note"):
            table.add_column(col, justify="right" if col in numbers else "left", no_wrap=col != "note",
                             min_width=len(col) if col != "note" else None)
        superseded = {r.replaces_id: r.id for r in rows if r.replaces_id}
        for r in rows:
            c = counts[r.id]
            to_go = to_go_of.get(r.id, sum(c.get(s, 0) for s in (D.PENDING, D.SENDING, D.RETRY, D.HELD)))
            note = (f"superseded by {superseded.get(r.id, '?')}" if r.superseded_at else
                    f"replaces {r.replaces_id}" if r.replaces_id else "")
            table.add_row(str(r.id), str(r.date), r.status, str(r.headlines), str(c.get(D.SENT, 0)),
                          str(c.get(D.FAILED, 0)), str(c.get(D.SKIPPED, 0)), str(to_go),
                          when(r.started_at)[5:16] if r.started_at else "-", seconds(r.duration), note)
        console.print(table)

    @editions_app.command("show")
    def editions_show(edition_id: int = EDITION_ID, per_class: int = typer.Option(10, min=1, max=1000,
                                                                   help="recipients listed per failure class")):
        """One edition: window, timings, headlines, deliveries, failures by class, history.

        Failed deliveries are grouped by failure class, with the recipients and their errors."""
        with session_scope() as session:
            detail = edition_detail(session, edition_id)
            if detail is None:
                fail(f"no edition {edition_id}")
            conn = session.connection()
            r = report(conn, edition_id)
            groups = failures_by_class(conn, edition_id, per_class)
            s = detail.summary
            console.print(f"edition {s.id} of {detail.publication_slug} for {s.date}: {s.status}", highlight=False)
            console.print(f"window {when(s.window_start)} -> {when(s.window_end)}; built {when(s.built_at)}; "
                          f"started {when(s.started_at)}; finished {when(s.finished_at)}; "
                          f"duration {seconds(r.duration)}", highlight=False)
            if s.replaces_id:
                console.print(f"replaces edition {s.replaces_id} (cancelled)", highlight=False)
            if s.superseded_at:
                console.print(f"superseded by edition {detail.superseded_by} at {when(s.superseded_at)}",
                              highlight=False)
            console.print(f"headlines ({len(detail.items)}):", highlight=False)
            section = None
            for place, item in enumerate(detail.items, 1):
                if item.section_name != section:
                    section = item.section_name
                    console.print(f"  {section}", highlight=False, markup=False)
                console.print(f"    {place}. {item.headline}", highlight=False, markup=False)
            if detail.edits:
                console.print(f"the editors' changes ({len(detail.edits)}; `newsletter editions changes {s.id}`)",
                              highlight=False)
            planned = edition_waves(conn, edition_id, r.now)
            if planned:
                print_waves(planned, "waves" if r.waves else "waves (as they would be planned if it started now)")
            by_state = ", ".join(f"{r.counts[st]} {st}" for st in D if r.counts[st])
            console.print(f"deliveries: {r.total} in total" + (f": {by_state}; {r.hard_bounces} hard bounces; "
                                                               f"{r.rate:.1f} messages/s" if r.total else ""),
                          highlight=False)
            if groups:
                console.print("failed, by class:", highlight=False)
            for g in groups:
                console.print(f"  {g.failure_class or 'unknown'} ({g.count}):", highlight=False, markup=False)
                for email, attempts, error in g.recipients:
                    console.print(f"    {email}  {attempts} attempt{'s' if attempts != 1 else ''}  {error}",
                                  highlight=False, markup=False)
                if g.count > len(g.recipients):
                    console.print(f"    ... and {g.count - len(g.recipients)} more", highlight=False)
            for h in detail.history:
                extra = _history_detail(h.detail or {})
                console.print(f"history: {when(h.at)} {h.act}{extra}" + (f": {h.reason}" if h.reason else ""),
                              highlight=False, markup=False)
