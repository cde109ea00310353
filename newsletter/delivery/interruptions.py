"""Errors of the infrastructure (the database, the broker's Redis) as the send path meets
them: not a failure of any message, and never acknowledged as work done.

A batch that meets one stops and raises `Interrupted`; the driver waits the outage out
in the same process (driver.run_batch: half a second, doubling, up to a ceiling) and
runs the batch again with what the interrupted run left (claims.Handover), whose claim
goes on beating meanwhile. A restart of PostgreSQL or Redis therefore costs seconds of
sending, not the five minutes a lost task waited for the sweeper.
"""
from __future__ import annotations

from newsletter.delivery.claims import Handover


class Interrupted(Exception):
    """A batch stopped by a database or broker error; `handover` is for its next run."""

    def __init__(self, handover: Handover, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {_first_line(cause)}")
        self.handover = handover


def is_outage(exc: BaseException) -> bool:
    """A database or broker error that a retry after a short wait can get past: a lost or
    refused connection, a server shutting down or starting up, a deadlock, a lock timeout."""
    from sqlalchemy import exc as sa

    if isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.PendingRollbackError)):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    for cls in type(exc).__mro__:  # raised by the drivers themselves (marks.py talks to libpq)
        if (cls.__module__.split(".")[0], cls.__name__) in _DRIVER_ERRORS:
            return True
    return False


_DRIVER_ERRORS = {
    ("psycopg", "OperationalError"), ("psycopg", "InterfaceError"),
    ("redis", "ConnectionError"), ("redis", "TimeoutError"), ("redis", "BusyLoadingError"),
}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]
