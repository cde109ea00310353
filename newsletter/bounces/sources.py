"""Mailboxes that reports arrive in: a Maildir folder, an mbox file, an IMAP folder.

Each yields (key, bytes) and removes a message only when asked to, which the caller
does after the report is committed to the database: a crash in between leaves the
message in the mailbox, and storing it again is a no-op (store.py).
"""
from __future__ import annotations

import imaplib
import mailbox
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from newsletter.config import Settings
from newsletter.errors import ConfigurationError, InvalidInput, Unavailable


class Source(Protocol):
    name: str

    def messages(self) -> Iterator[tuple[str, bytes]]: ...
    def remove(self, key: str) -> None: ...
    def close(self) -> None: ...


class MaildirSource:
    def __init__(self, path: Path):
        if not all((path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise InvalidInput(f"{path} is not a Maildir (it needs new/, cur/ and tmp/)")
        self.name = f"maildir:{path}"
        self.box = mailbox.Maildir(path, factory=None, create=False)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in sorted(self.box.keys()):
            try:
                yield key, self.box.get_bytes(key)
            except KeyError:  # taken by another reader meanwhile
                continue

    def remove(self, key: str) -> None:
        self.box.discard(key)

    def close(self) -> None:
        self.box.close()


class MboxSource:
    """Locked while read; removals are written back when it is closed."""

    def __init__(self, path: Path):
        self.name = f"mbox:{path}"
        self.box = mailbox.mbox(path, factory=None, create=False)
        try:
            self.box.lock()
        except mailbox.ExternalClashError as exc:
            raise Unavailable(f"{path} is locked by another program; try again later") from exc
        self.removed = False

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in list(self.box.keys()):
            yield str(key), self.box.get_bytes(key)

    def remove(self, key: str) -> None:
        self.box.discard(int(key))
        self.removed = True

    def close(self) -> None:
        try:
            if self.removed:
                self.box.flush()
        finally:
            self.box.unlock()
            self.box.close()


class ImapSource:
    """The folder named in the settings; messages are read with BODY.PEEK (no \\Seen flag)
    and removed with \\Deleted and an expunge when the source is closed."""

    def __init__(self, settings: Settings):
        s = settings
        if not (s.bounce_imap_host and s.bounce_imap_username):
            raise ConfigurationError("IMAP needs NEWSLETTER_BOUNCE_IMAP_HOST and NEWSLETTER_BOUNCE_IMAP_USERNAME "
                                     "(and _PASSWORD)")
        self.name = f"imap:{s.bounce_imap_host}/{s.bounce_imap_folder}"
        try:
            cls = imaplib.IMAP4_SSL if s.bounce_imap_ssl else imaplib.IMAP4
            self.conn = cls(s.bounce_imap_host, s.bounce_imap_port, timeout=30)
            self.conn.login(s.bounce_imap_username, s.bounce_imap_password)
            status, _ = self.conn.select(_quote(s.bounce_imap_folder))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise Unavailable(f"IMAP {s.bounce_imap_host}:{s.bounce_imap_port}: {type(exc).__name__}: "
                              f"{_first_line(exc)}") from None
        if status != "OK":
            self.conn.logout()
            raise Unavailable(f"IMAP folder {s.bounce_imap_folder!r} cannot be opened")
        self.removed = False

    def messages(self) -> Iterator[tuple[str, bytes]]:
        status, data = self.conn.uid("SEARCH", None, "ALL")
        if status != "OK":
            raise Unavailable("IMAP search failed")
        for uid in (data[0] or b"").split():
            status, parts = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")
            body = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) == 2), None)
            if status == "OK" and body is not None:
                yield uid.decode("ascii"), body

    def remove(self, key: str) -> None:
        self.conn.uid("STORE", key, "+FLAGS", "(\\Deleted)")
        self.removed = True

    def close(self) -> None:
        try:
            if self.removed:
                self.conn.expunge()
            self.conn.close()
        except (OSError, imaplib.IMAP4.error):
            pass  # the messages stay flagged \Deleted; they are stored already
        finally:
            try:
                self.conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_line(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if isinstance(exc.args[0] if exc.args else None, bytes):
        text = exc.args[0].decode("utf-8", "replace")
    return re.split(r"[\r\n]", text, maxsplit=1)[0][:200]


def open_source(spec: str, settings: Settings) -> Source:
    """`imap`, a Maildir folder or an mbox file."""
    spec = (spec or "").strip()
    if spec.lower() == "imap":
        return ImapSource(settings)
    path = Path(spec).expanduser()
    if path.is_dir():
        return MaildirSource(path)
    if path.is_file():
        return MboxSource(path)
    raise InvalidInput(f"{spec!r} is neither a Maildir folder, an mbox file, nor `imap`")
