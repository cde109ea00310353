"""`newsletter`: the command line. Each area registers its commands from its own module.

Errors: every NewsletterError is one line on stderr and exit code 2 (a publications
file with several problems: one line, then each problem on its own line); anything else
is one line too ("unexpected error"), exit code 3, with the traceback only when
NEWSLETTER_DEBUG is set. The database or the broker unreachable (a restart, an outage)
is one line saying so, exit code 4: try again. `send` exits 1 when it sent nothing
(held, cancelled, empty, paused).
"""
from __future__ import annotations

import os
import sys

import typer

from newsletter.cli import (
    bounces,
    common,
    content,
    curation,
    demo,
    dkim,
    editions,
    feeds,
    ops,
    retention,
    run,
    staff,
    subscribers,
    suppressions,
    web,
)
from newsletter.errors import NewsletterError
from newsletter.publications.problems import PublicationsFileError

app = typer.Typer(help="Daily digest newsletters: build, render and deliver.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
publications_app = typer.Typer(help="Publications and their sections.", no_args_is_help=True)
subscribers_app = typer.Typer(help="The subscriber list.", no_args_is_help=True)
editions_app = typer.Typer(help="Editions: list, show, status, watch; rebuild, hold, release; pause, resume, cancel; "
                                "retry failed deliveries.", no_args_is_help=True)
app.add_typer(publications_app, name="publications")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(editions_app, name="editions")

content.register(app, publications_app)
subscribers.register(subscribers_app)
editions.register(app, editions_app)
curation.register(editions_app)
demo.register(app)
web.register(app)
dkim.register(app)
ops.register(app)
retention.register(app)
bounces.register(app)
feeds.register(app)
run.register(app)
staff.register(app)  # staff, tokens, audit
suppressions.register(app)


def main(argv: list[str] | None = None) -> None:
    try:
        # Standalone mode: Click answers usage errors itself, in one line, and exits.
        app(args=argv, prog_name="newsletter")
    except PublicationsFileError as exc:
        several = len(exc.problems) > 1
        common.print_error(str(exc).split("\n")[0] if several else str(exc), details=exc.problems if several else ())
        sys.exit(2)
    except NewsletterError as exc:
        common.print_error(str(exc))
        sys.exit(2)
    except Exception as exc:  # the promise: never a traceback on the command line
        if unavailable(exc) and not os.environ.get("NEWSLETTER_DEBUG"):
            common.print_error(f"{unavailable(exc)} ({type(exc).__name__}: {_first_line(exc)}); "
                               "try again when it is back", "unavailable")
            sys.exit(4)
        if os.environ.get("NEWSLETTER_DEBUG"):
            raise
        common.print_error(f"{type(exc).__name__}: {exc} (set NEWSLETTER_DEBUG=1 for the traceback)",
                           "unexpected error")
        sys.exit(3)  # not 1: that says "nothing was sent" (send)


def unavailable(exc: BaseException) -> str:
    """What is unreachable, when `exc` says the database or the broker cannot be reached."""
    from newsletter.delivery.interruptions import is_outage

    if not is_outage(exc):
        try:
            from kombu.exceptions import OperationalError as BrokerError
        except ImportError:  # pragma: no cover - kombu comes with Celery
            return ""
        return "the broker is unreachable" if isinstance(exc, BrokerError) else ""
    return "the broker is unreachable" if type(exc).__module__.startswith("redis") else "the database is unreachable"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
