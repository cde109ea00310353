"""Personal emails (confirmation, welcome, address change) sent through a backend that
keeps what it was given, and the bounce reports of them, processed by the real intake."""
from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy

from newsletter.bounces import intake
from tests.bounce_samples import Sent, sample


@dataclass(frozen=True)
class Mail:
    envelope_from: str
    to: str
    data: bytes

    @property
    def message(self):
        return email.message_from_bytes(self.data, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()

    def report(self, name: str, **changes) -> bytes:
        """The sample report `name`, filled in for this message."""
        values = {"verp": self.envelope_from, "rcpt": self.to, "message_id": self.message_id, **changes}
        return sample(name, **values)


class Recorder:
    """A delivery backend that keeps every message (envelope sender, recipient, bytes)."""

    def __init__(self):
        self.sent: list[Mail] = []

    def open(self) -> None:
        pass

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None:
        if before_end is not None:
            before_end()
        self.sent.append(Mail(sender, recipient, data))
        if while_waiting is not None:
            while_waiting()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def last(self) -> Mail:
        return self.sent[-1]


def bounce(engine, settings, raw: bytes, envelope_to: str = "") -> int:
    """Store and process one report as the intake does; its id."""
    stored = intake.receive(engine, settings, raw, "http", envelope_to)
    intake.process_ids(engine, settings, [stored.report_id])
    return stored.report_id


def mailto_of(settings, sent: Sent) -> str:
    """The mailto: address in the List-Unsubscribe of the message `sent` was delivered."""
    name = sent.message_id.strip("<>").replace("@", "_") + ".eml"
    msg = email.message_from_bytes((settings.effective_outbox_dir / name).read_bytes(), policy=policy.default)
    offers = [o.strip() for o in str(msg["List-Unsubscribe"]).split(",")]
    (mailto,) = [o.strip("<>").removeprefix("mailto:") for o in offers if o.startswith("<mailto:")]
    return mailto


def request(to: str, sender: str = "reader@example.org", n: int = 1, headers: str = "") -> bytes:
    """What a mail client sends when its reader picks 'unsubscribe'."""
    return (f"{headers}From: <{sender}>\r\nTo: <{to}>\r\nSubject: unsubscribe\r\n"
            f"Date: Mon, 30 Nov 2026 07:0{n}:00 +0000\r\nMessage-ID: <req{n}@client.example.org>\r\n"
            f"\r\nunsubscribe\r\n").encode()
