"""The processes docker-compose.yml runs, started from its own `command:` and checked with
its own `healthcheck:` lines, on this machine: migrate against a fresh, empty PostgreSQL
database, then the web, the worker and beat against it, Redis and an SMTP server.

What differs from the containers, and only that: the executables are this virtualenv's
(/opt/venv/bin in the image); the addresses of PostgreSQL, Redis and the relay are the
local ones instead of the service names; the web listens on a free loopback port
instead of 0.0.0.0:8000; the sweep runs every second so that beat is seen sending."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text

from newsletter.db import get_engine
from newsletter.web.health import _head_revisions
from tests.databases import drop_pg_database, new_pg_database
from tests.integration.compose_files import compose, env_file, interpolate
from tests.integration.servers import ROOT, SMTPServer, free_port, wait_for
from tests.integration.stack import REDIS_URL

BIN = Path(sys.executable).parent


class Process:
    """One service's command in its own process group, its output in a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path):
        self.name, self.log = name, cwd / f"{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        assert self.proc.poll() is None, f"{self.name} exited {self.proc.returncode}:\n{self.output()}"
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def healthcheck(service: dict, port: int | None = None) -> list[str]:
    test = service["healthcheck"]["test"]
    argv = test[1:] if test[0] == "CMD" else shlex.split(test[1])
    return [a.replace("127.0.0.1:8000/", f"127.0.0.1:{port}/") for a in argv] if port else argv


def passes(argv: list[str], env: dict[str, str], cwd: Path) -> bool:
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], env=env, cwd=cwd, capture_output=True, timeout=60)
    return done.returncode == 0


@pytest.fixture
def empty_database():
    url = new_pg_database("template0")  # nothing in it: migrate has all the work to do
    yield url
    drop_pg_database(url)


def test_the_compose_processes_come_up_and_pass_their_healthchecks(tmp_path, empty_database):
    services = compose()["services"]
    relay = SMTPServer()
    relay.start()
    (tmp_path / "var").mkdir()  # the image's WORKDIR /app has var/ (Dockerfile)
    example = env_file(ROOT / "config" / "settings.example.env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update({k: interpolate(str(v), example) for k, v in services["web"]["environment"].items()})
    env.update(NEWSLETTER_DATABASE_URL=empty_database, NEWSLETTER_BROKER_URL=REDIS_URL,
               NEWSLETTER_SMTP_HOST="127.0.0.1", NEWSLETTER_SMTP_PORT=str(relay.port),
               NEWSLETTER_VAR_DIR=str(tmp_path / "var"), NEWSLETTER_SWEEP_INTERVAL_SECONDS="1")
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()  # no task left from an earlier run: every sweep the worker runs comes from this beat
    running: list[Process] = []
    try:
        # migrate: one shot, exit 0, schema at the newest revision.
        migrate = subprocess.run([str(BIN / a) if i == 0 else a for i, a in
                                  enumerate(shlex.split(services["migrate"]["command"]))],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        head = ", ".join(_head_revisions(empty_database))
        assert f"database at revision {head} (newest)" in migrate.stdout
        with get_engine(empty_database).connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head

        port = free_port()
        web_argv = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(a, a)
                    for a in shlex.split(services["web"]["command"])]
        running.append(Process("web", web_argv, env, tmp_path))
        worker = Process("worker", shlex.split(services["worker"]["command"]), env, tmp_path)
        running.append(worker)
        running.append(Process("beat", shlex.split(services["beat"]["command"]), env, tmp_path))

        # The web: its own healthcheck (GET /readyz) passes, and /readyz lists every dependency.
        wait_for(lambda: all(p.alive() for p in running) and passes(healthcheck(services["web"], port), env, tmp_path),
                 90, what="the web's healthcheck")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
        assert ready["status"] == "ready"
        assert {name: c["ok"] for name, c in ready["checks"].items()} == {"database": True, "broker": True,
                                                                          "smtp": True}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200

        # The worker: its own healthcheck pings it through Redis.
        wait_for(lambda: worker.alive() and passes(healthcheck(services["worker"]), env, tmp_path),
                 90, what="the worker's healthcheck")

        # Beat: the sweep it schedules reaches the worker and runs.
        wait_for(lambda: all(p.alive() for p in running) and "newsletter.sweep" in worker.output()
                 and "succeeded" in worker.output(), 60, what="a sweep sent by beat, run by the worker")

        # A sign-up on the web reaches the workers: the web sends its tasks from a thread of
        # its own, and they must go to this broker (not to Celery's default amqp://localhost).
        load = subprocess.run([str(BIN / "newsletter"), "publications", "load"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert load.returncode == 0, load.stdout + load.stderr
        signed = httpx.post(f"http://127.0.0.1:{port}/api/subscribe", timeout=10,
                            json={"publication": "spacewar-daily", "email": "new.reader@example.org"})
        assert signed.status_code == 202
        wait_for(lambda: relay.handler.received.get("new.reader@example.org"), 60,
                 what="the confirmation, sent by the worker for a sign-up on the web")

        # Every process logs through newsletter/logs.py (one line per event, ISO time first).
        ours = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO (uvicorn|celery)\.", re.M)
        for process in running:
            assert ours.search(process.output()) and "Traceback" not in process.output(), process.name

        # Both healthchecks can fail: the web's when the relay stops answering, the worker's
        # once the worker is gone.
        relay.stop()
        assert not passes(healthcheck(services["web"], port), env, tmp_path)
        worker.stop()
        assert not passes(healthcheck(services["worker"]), env, tmp_path)
    finally:
        for process in running:
            process.stop()
        relay.stop()
        broker.flushdb()


def test_migrate_without_a_database_fails_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_DATABASE_URL"] = f"postgresql://newsletter:pw-not-shown@127.0.0.1:{free_port()}/newsletter"
    argv = shlex.split(compose()["services"]["migrate"]["command"])
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "cannot migrate the database: OperationalError" in done.stderr
    assert "Traceback" not in done.stderr and "pw-not-shown" not in done.stderr + done.stdout
