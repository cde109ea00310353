"""`newsletter run`: the whole service in one process, with no broker.

The web server (uvicorn, in the main thread) and the scheduler (newsletter/scheduler.py,
in a thread of its own: editions that are due, the sweeper, feed polling, batches
inline). SIGTERM or Ctrl-C: the web server finishes its requests, the scheduler stops
between two messages and gives back what it had claimed; then the process exits 0.
"""
from __future__ import annotations

import logging
import signal
import socket
import threading

import typer

from newsletter.config import get_settings
from newsletter.errors import ConfigurationError, Unavailable

log = logging.getLogger("newsletter.run")


def register(app: typer.Typer) -> None:
    @app.command()
    def run(host: str = "127.0.0.1", port: int = typer.Option(8000, min=1, max=65535),
            web: bool = typer.Option(True, "--web/--no-web", help="serve the subscriber pages too")):
        """Serve the web pages and send on schedule, in one process, without Redis or Celery."""
        from newsletter.logs import configure_logging
        from newsletter.scheduler import Scheduler

        settings = get_settings()
        configure_logging(settings)
        if settings.broker_url:
            raise ConfigurationError("NEWSLETTER_BROKER_URL is set: with a broker, run "
                                     "`celery -A newsletter.workers worker` and `celery -A newsletter.workers beat` "
                                     "(and `newsletter web`) instead of `newsletter run`")
        stop = threading.Event()
        scheduler = Scheduler(settings, stop=stop)
        server = _server(settings, host, port) if web else None
        sockets = [_listen(host, port)] if web else None  # before anything starts: a port in use sends nothing

        def on_signal(signum, _frame) -> None:
            log.info("%s: stopping", signal.Signals(signum).name)
            stop.set()
            if server is not None:
                server.should_exit = True

        # Installed before uvicorn's: it calls them again once it has shut down.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        thread = threading.Thread(target=scheduler.run, name="scheduler", daemon=True)
        thread.start()
        try:
            if server is not None:
                server.run(sockets=sockets)
            else:
                while not stop.wait(3600):
                    pass
        finally:
            stop.set()
            thread.join(timeout=settings.smtp_timeout + 10)  # a message on the wire finishes first
            if thread.is_alive():
                log.warning("the scheduler did not stop in time; its claimed rows return to the queue "
                            "after NEWSLETTER_LEASE_SECONDS")
        log.info("stopped")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}; nothing was started") from None
    sock.set_inheritable(True)
    return sock


def _server(settings, host: str, port: int):
    import uvicorn

    from newsletter.logs import logging_config
    from newsletter.web.app import create_app
    from newsletter.web.server import config

    return uvicorn.Server(config(create_app(settings), host=host, port=port,
                                 log_config=logging_config(settings), log_level=settings.log_level.lower()))
