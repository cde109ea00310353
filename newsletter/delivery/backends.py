"""Where messages go: an outbox folder of .eml files, or an SMTP relay.

A backend is opened once per batch and reused for every message of it. Errors
are sorted into the three outcomes delivery cares about, Mailman-style:
temporary (4xx, timeouts: retry later), permanent (5xx for the recipient: bounce
and suppress), and relay down (nobody answers: stop and wait, burn no attempts).
"""
from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from pathlib import Path
from typing import Protocol


class TemporaryFailure(Exception):
    """Try this message again later (4xx reply, timeout, connection lost mid-message)."""


class PermanentFailure(Exception):
    """The relay refused this recipient or message for good (5xx)."""

    def __init__(self, code: int, text: str):
        super().__init__(f"{code} {text}")
        self.code = code


class RelayDown(Exception):
    """No connection to the relay: pause progress, do not count attempts."""


class Backend(Protocol):
    def open(self) -> None: ...
    def send(self, sender: str, recipient: str, data: bytes, name_hint: str) -> None: ...
    def close(self) -> None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxBackend:
    """One .eml file per message, written to a temporary name and renamed into place."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str) -> None:
        name = _UNSAFE.sub("_", name_hint.strip("<>"))[:180] + ".eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.folder / name)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def close(self) -> None:
        pass


class SMTPBackend:
    """One reused SMTP connection; reconnects once when the server drops it."""

    def __init__(self, host: str, port: int, *, starttls: bool = False, username: str = "",
                 password: str = "", timeout: float = 30.0, local_hostname: str | None = None,
                 ca_file: str | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        self.ca_file = ca_file  # a private CA for the relay's certificate; default: the system's
        self.starttls, self.username, self.password = starttls, username, password
        self.local_hostname = local_hostname
        self.conn: smtplib.SMTP | None = None

    def open(self) -> None:
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout,
                                local_hostname=self.local_hostname)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context(cafile=self.ca_file))
            if self.username:
                conn.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise RelayDown(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.conn = conn

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str) -> None:
        if self.conn is None:
            self.open()
        try:
            refused = self.conn.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._reset()
            raise _classify(code, text) from exc
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError, OSError) as exc:
            # The outcome of this message is unknown: retry it, on a new connection.
            self.conn = None
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, text)

    def _reset(self) -> None:
        try:
            self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.conn = None


def _classify(code: int, text) -> Exception:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if 500 <= code < 600:
        return PermanentFailure(code, str(text))
    return TemporaryFailure(f"{code} {text}")


def backend_from_settings(settings) -> Backend:
    if settings.delivery_backend == "smtp":
        return SMTPBackend(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                           username=settings.smtp_username, password=settings.smtp_password,
                           timeout=settings.smtp_timeout,
                           ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    if settings.delivery_backend == "outbox":
        return OutboxBackend(settings.effective_outbox_dir)
    raise ValueError(f"unknown delivery backend {settings.delivery_backend!r} (outbox or smtp)")
