"""Charts drawn on the server: SVG written into the page, no script, nothing fetched.

The console's Content-Security-Policy (`default-src 'none'; style-src 'unsafe-inline'`)
allows them as they are: an inline <svg> element is part of the document, not a
resource, and its colours are attributes. Each chart has a <title> and a <desc> for
screen readers, and the page shows the same numbers in a table beside it.

Every label goes through `escape`: section names and dates are data.
"""
from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 34, 42
TEXT = "#3b4550"  # 10:1 on white
GRID = "#e3e6ea"
PALETTE = {"sent": "#0b2545", "clicks": "#1a7f37", "scanner_clicks": "#9a6700", "unsubscribes": "#b31b1b",
           "bounces": "#6639ba", "complaints": "#cf222e", "opens": "#0969da"}
LABELS = {"sent": "sent", "clicks": "clicks (readers)", "scanner_clicks": "clicks (scanners)",
          "unsubscribes": "unsubscribes", "bounces": "bounces", "complaints": "complaints", "opens": "opens"}


def _nice(top: float) -> int:
    """A round maximum for the axis, four steps of a round size (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while 4 * step < top:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2  # 1, 2, 5, 10, 20, 50, ...
    return 4 * step


def _frame(chart_id: str, title: str, desc: str, top: int, series: list[str]) -> list[str]:
    h, cid = HEIGHT - TOP - BOTTOM, escape(chart_id)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-labelledby="{cid}-t {cid}-d">',
           f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>']
    for n in range(5):
        y = TOP + h - h * n / 4
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{TEXT}">'
                   f'{top * n // 4:,}</text>')
    x = LEFT
    for name in series:
        out.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{PALETTE.get(name, TEXT)}"/>'
                   f'<text x="{x + 14}" y="17" font-size="12" fill="{TEXT}">{escape(LABELS.get(name, name))}</text>')
        x += 22 + 7 * len(LABELS.get(name, name))
    return out


def _x_labels(labels: list[str], slot: float) -> list[str]:
    every = max(1, int(len(labels) * 60 / (WIDTH - LEFT - RIGHT)) + 1)  # no two labels closer than ~60 px
    return [f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11" fill="{TEXT}">{escape(label)}</text>'
            for i, label in enumerate(labels) if i % every == 0]


def bars(chart_id: str, title: str, labels: list[str], series: dict[str, list[int]]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice(max((v for values in series.values() for v in values), default=0))
    out = _frame(chart_id, title, _describe(labels, series), top, list(series))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    bar = max(1.0, slot * 0.8 / max(1, len(series)))
    h = HEIGHT - TOP - BOTTOM
    for i, label in enumerate(labels):
        for j, (name, values) in enumerate(series.items()):
            height = h * values[i] / top
            x = LEFT + slot * i + slot * 0.1 + bar * j
            out.append(f'<rect x="{x:.1f}" y="{TOP + h - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                       f'fill="{PALETTE.get(name, TEXT)}"><title>{escape(label)}: {values[i]:,} '
                       f'{escape(LABELS.get(name, name))}</title></rect>')
    out += _x_labels(labels, slot)
    return Markup("".join(out) + "</svg>")


def lines(chart_id: str, title: str, labels: list[str], series: dict[str, list[int]]) -> Markup:
    """One line per series over the labels (days), a dot at each value."""
    top = _nice(max((v for values in series.values() for v in values), default=0))
    out = _frame(chart_id, title, _describe(labels, series), top, list(series))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    h = HEIGHT - TOP - BOTTOM
    for name, values in series.items():
        points = [(LEFT + slot * (i + 0.5), TOP + h - h * v / top) for i, v in enumerate(values)]
        colour = PALETTE.get(name, TEXT)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(labels[i])}: '
                f'{values[i]:,} {escape(LABELS.get(name, name))}</title></circle>' for i, (x, y) in enumerate(points)]
    out += _x_labels(labels, slot)
    return Markup("".join(out) + "</svg>")


def _describe(labels: list[str], series: dict[str, list[int]]) -> str:
    totals = ", ".join(f"{sum(values):,} {LABELS.get(name, name)}" for name, values in series.items())
    span = f"{labels[0]} to {labels[-1]}" if labels else "no data"
    return f"{span}: {totals}."


def figure_charts(figures: dict, prefix: str) -> dict[str, Markup]:
    """The charts of a figures document (reports/reader_figures.py): sent per day, the
    reactions per day, clicks per section."""
    days = figures["days"]
    labels = [d["date"][5:] for d in days]  # MM-DD
    reactions = {k: [d[k] for d in days] for k in ("clicks", "scanner_clicks", "unsubscribes", "bounces",
                                                    "complaints")}
    if figures.get("open_pixel"):
        reactions["opens"] = [d["opens"] for d in days]
    sections = figures["sections"]
    return {
        "sent": bars(f"{prefix}-sent", "Messages sent per day", labels, {"sent": [d["sent"] for d in days]}),
        "reactions": lines(f"{prefix}-reactions", "Clicks, unsubscribes, bounces and complaints per day", labels,
                           reactions),
        "sections": bars(f"{prefix}-sections", "Clicks per section", [s["name"] for s in sections],
                         {"clicks": [s["clicks"] for s in sections],
                          "scanner_clicks": [s["scanner_clicks"] for s in sections]}),
    }
