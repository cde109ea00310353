"""Real servers for integration tests: an aiosmtpd SMTP server on loopback that can
misbehave on purpose (refuse, defer, fall silent, answer 421), Celery worker processes
that can be killed, and a PostgreSQL cluster of a test's own that it may restart."""
from __future__ import annotations

import asyncio
import email
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OffersPipelining:
    """aiosmtpd handles a pipelined group (it reads a line at a time) but does not offer
    PIPELINING; a handler with this offers it when `self.pipelining` is true."""

    pipelining = True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses


class Handler(OffersPipelining):
    """Records every accepted recipient. Can refuse some recipients (550 5.1.1), defer some
    once (451), fall silent for a while after a chosen recipient's body (`silent`:
    {address: seconds}, once each; then it accepts), and answer anything at MAIL, RCPT or
    DATA through the `*_reply` hooks (a callable returning a reply line, or None to accept).
    `replies` counts the refusals the hooks gave, by their first three characters."""

    def __init__(self, pipelining: bool = True):
        self.pipelining = pipelining  # offered, as Postfix and most relays do (aiosmtpd does not by itself)
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.messages: list[bytes] = []
        self.reject: set[str] = set()
        self.defer_once = lambda rcpt: False
        self.deferred: set[str] = set()
        self.keep_messages = False
        self.mail_reply = lambda sender: None
        self.rcpt_reply = lambda address: None
        self.data_reply = lambda envelope: None
        self.mail_options: list[list[str]] = []
        self.mail_from: list[str] = []
        self.silent: dict[str, float] = {}
        self.silences: list[tuple[str, float, float]] = []  # (recipient, began, ended) on the monotonic clock
        self.replies: Counter[str] = Counter()

    def _refused(self, reply: str) -> str:
        with self.lock:
            self.replies[reply[:3]] += 1
        return reply

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.mail_reply(address)
        if reply:
            return self._refused(reply)
        with self.lock:
            self.mail_options.append(list(mail_options))
            self.mail_from.append(address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 No such user here"
        reply = self.rcpt_reply(address)
        if reply:
            return self._refused(reply)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        reply = self.data_reply(envelope)
        if reply:
            return self._refused(reply)
        with self.lock:
            quiet = self.silent.pop(rcpt, 0)
        if quiet:  # the body is in; the final answer waits (other connections go on)
            began = time.monotonic()
            await asyncio.sleep(quiet)
            with self.lock:
                self.silences.append((rcpt, began, time.monotonic()))
        with self.lock:
            if rcpt not in self.deferred and self.defer_once(rcpt):
                self.deferred.add(rcpt)
                return "451 4.3.0 Please try again later"
            for r in envelope.rcpt_tos:
                self.received[r] += 1
            if self.keep_messages:
                self.messages.append(envelope.original_content)
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def parsed(self):
        return [email.message_from_bytes(m, policy=policy.default) for m in self.messages]


class SMTPServer:
    def __init__(self, port: int | None = None, smtputf8: bool = False, pipelining: bool = True):
        self.port = port or free_port()
        self.handler = Handler(pipelining)
        self.smtputf8 = smtputf8  # advertise SMTPUTF8 (RFC 6531)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     decode_data=False, data_size_limit=10_000_000,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Worker:
    """`celery -A newsletter.workers worker` in its own process group, so SIGKILL takes all of it."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 2):
        self.env, self.log_path, self.concurrency = env, log_path, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "newsletter.workers", "worker", "-l", "INFO",
             "-c", str(self.concurrency), "-Q", "newsletter", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}-{time.time_ns()}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop_warm(self) -> None:
        """SIGTERM to the main process alone, as a service manager does: Celery's warm
        shutdown lets the running tasks finish (a signal to the whole group kills them)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=120)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, pg_ctl) on a free port, so that a test
    may restart or stop it without touching the server other tests share."""

    def __init__(self):
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="nl-private-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres"
        uid = pwd.getpwnam(self.user)
        os.chown(self.dir, uid.pw_uid, uid.pw_gid)  # initdb refuses to run as root
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                   "-c fsync=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """A clean restart (fast shutdown: sessions ended, the WAL flushed), as an operator does."""
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(predicate, timeout: float, interval: float = 0.2, on_wait=None, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if on_wait:
            on_wait()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def authenticator(server, session, envelope, mechanism, auth_data):
    """The relay's login: relayuser / s3cret."""
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"relayuser", b"s3cret")
    return AuthResult(success=ok)
