"""Where messages go: an outbox folder of .eml files, or an SMTP relay.

A backend is opened once per batch and reused for every message of it. Every
refusal leaves as a SendFailure whose class (transport/failures.py) says what it
means; the backend only reports where in the dialogue it came and what was said.
A backend that cannot take mail at all (the relay unreachable, closing, refusing the
login; the outbox's disk full) says RELAY_DOWN: the edition waits, no attempt charged.
"""
from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from pathlib import Path
from typing import Protocol

from newsletter.addresses import wire_address
from newsletter.transport.failures import FailureClass, SendFailure, Stage
from newsletter.transport.smtp_client import ConnectionLost, SMTPSession


class Backend(Protocol):
    def open(self) -> None: ...
    # `before_end` is called once the message is written but before it is complete (an
    # exception from it withholds the message: never taken); `while_waiting` once it is
    # complete, while its answer is awaited; `while_envelope` while the envelope's answers
    # are (smtp_client.py). Every backend calls all three.
    # `dot_safe`: no line of `data` starts with a dot (SMTP sends it without stuffing).
    def send(self, sender: str, recipient: str, data: bytes, name_hint: str,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None: ...
    def reset(self) -> None: ...  # after an unexpected error: the next send starts clean
    def close(self) -> None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxBackend:
    """One .eml file per message, written to a temporary name and renamed into place."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None:
        """The rename into place completes a message: `before_end` comes just before it."""
        if while_envelope is not None:
            while_envelope()
        name = _UNSAFE.sub("_", name_hint.strip("<>"))[:180] + ".eml"
        # A disk that is full (ENOSPC), over quota, read-only or failing refuses every
        # message alike: the outbox is unavailable, nothing is wrong with the recipient.
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        except OSError as exc:
            raise SendFailure(FailureClass.RELAY_DOWN, f"outbox {self.folder} not writable: {exc}",
                              stage=Stage.CONNECT) from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            _discard(tmp)
            raise SendFailure(FailureClass.RELAY_DOWN, f"outbox {self.folder} write failed: {exc}",
                              stage=Stage.CONNECT) from exc
        if before_end is not None:
            try:
                before_end()
            except BaseException:
                _discard(tmp)  # withheld: never in the outbox
                raise
        try:
            os.replace(tmp, self.folder / name)
        except OSError as exc:
            raise SendFailure(FailureClass.RELAY_DOWN, f"outbox {self.folder} write failed: {exc}",
                              stage=Stage.CONNECT) from exc
        finally:
            _discard(tmp)
        if while_waiting is not None:
            while_waiting()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def _discard(tmp: str) -> None:
    """Remove a temporary file if it is still there (gone when renamed into place); on a
    failing disk it may stay, a stray .tmp- file that is never read as a message."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


class SMTPBackend:
    """One reused SMTP connection; reconnects when the server drops it.

    smtplib greets, secures and logs in; each message then goes through our own
    transaction (transport/smtp_client.py: pipelined when the relay allows it)."""

    def __init__(self, host: str, port: int, *, starttls: bool = False, username: str = "",
                 password: str = "", timeout: float = 30.0, local_hostname: str | None = None,
                 ca_file: str | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        self.ca_file = ca_file  # a private CA for the relay's certificate; default: the system's
        self.starttls, self.username, self.password = starttls, username, password
        self.local_hostname = local_hostname
        self.session: SMTPSession | None = None

    def open(self) -> None:
        conn, step = None, "cannot connect to"
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
            conn.ehlo_or_helo_if_needed()
            if self.starttls:
                step = "STARTTLS failed with"
                conn.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                conn.ehlo()
            if self.username:
                step = "cannot sign in to"  # connected: the relay refused the login (no password in the text)
                conn.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            if conn is not None:
                conn.close()
            raise SendFailure(FailureClass.RELAY_DOWN, f"{step} {self.host}:{self.port}: {exc}",
                              stage=Stage.CONNECT) from exc
        self.session = SMTPSession(conn)

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None:
        rcpt, sender_wire = wire_address(recipient), wire_address(sender)
        smtputf8 = rcpt.needs_smtputf8 or sender_wire.needs_smtputf8
        for fresh_connection in (False, True):
            if self.session is None or not self.session.alive:
                self.open()
                fresh_connection = True
            if smtputf8 and not self.session.smtputf8:
                raise SendFailure(FailureClass.UNDELIVERABLE,
                                  f"{recipient}: a non-ASCII address needs SMTPUTF8, which the relay does not offer")
            try:
                self.session.send(sender_wire.address, rcpt.address, data, smtputf8, before_end, while_waiting,
                                  dot_safe, while_envelope)
                return
            except ConnectionLost as exc:
                self.session = None
                if not exc.unsent:  # the body went out: its outcome is unknown, retry it later
                    raise SendFailure(FailureClass.TEMPORARY, f"connection lost: {exc}", stage=Stage.DATA) from exc
                if fresh_connection:  # a new connection broke before the message: the relay is not taking mail
                    raise SendFailure(FailureClass.RELAY_DOWN, f"connection to {self.host}:{self.port} lost "
                                      f"before the message: {exc}", stage=Stage.CONNECT) from exc
                # A reused connection the relay had closed meanwhile: once more, on a new one.

    def reset(self) -> None:
        """Drop the connection: after an unexpected error its state is unknown."""
        if self.session is not None:
            self.session.drop()
        self.session = None

    def close(self) -> None:
        if self.session is not None:
            self.session.quit()
            self.session = None


def backend_from_settings(settings) -> Backend:
    if settings.delivery_backend == "smtp":
        return SMTPBackend(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                           username=settings.smtp_username, password=settings.smtp_password,
                           timeout=settings.smtp_timeout,
                           ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    return OutboxBackend(settings.effective_outbox_dir)
