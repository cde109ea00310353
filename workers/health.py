"""`python -m newsletter.workers.health`: is the Celery worker on this host alive and consuming?

The container healthcheck of the worker service. It pings the worker through the
broker (Celery's remote control), so a healthy answer means the worker process runs,
its consumer is connected to the broker, and it reads from it: what a process-exists
check cannot tell. Exit 0 when the worker answered, 1 when it did not, with one line
either way.

The worker's node name defaults to celery@<host name>, which in a container is the
container's; pass another with --name (the worker's -n, %h for the host name).
"""
from __future__ import annotations

import argparse
import socket
import sys

from kombu.exceptions import OperationalError

from newsletter.workers.app import app


def node_name(pattern: str) -> str:
    return pattern.replace("%h", socket.gethostname())


def ping(name: str, timeout: float) -> bool:
    replies = app.control.ping(destination=[name], timeout=timeout)
    return any(name in reply for reply in replies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsletter.workers.health", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="celery@%h", help="the worker's node name (default: celery@%%h)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)
    name = node_name(args.name)
    try:
        alive = ping(name, args.timeout)
    except OperationalError as exc:
        print(f"unhealthy: broker unreachable ({type(exc).__name__})", file=sys.stderr)
        return 1
    if not alive:
        print(f"unhealthy: {name} did not answer within {args.timeout:g}s", file=sys.stderr)
        return 1
    print(f"healthy: {name} answered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
