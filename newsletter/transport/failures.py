"""Every outcome of a send falls in one class, decided here and nowhere else.

The class, not the text, is stored on the delivery (`deliveries.error_class`), so
reports and `editions status` never match error messages.

| class               | examples                                      | what happens                       |
|---------------------|-----------------------------------------------|------------------------------------|
| temporary           | 4xx, timeout, dropped connection, 552, 5.2.2/3| retry with back-off, then failed   |
| recipient_refused   | RCPT 5.1.x, 5.2.1, plain 550/551/553          | hard bounce: suppress, unsubscribe |
| message_refused     | MAIL FROM 5xx, DATA 5xx, 5.3.x, 5.4.x, 5.6.x  | nobody suppressed; pause edition   |
| policy_refused      | RCPT 5.7.x, plain 554 at RCPT (blocklists)    | nobody suppressed; hold the domain |
| relay_down          | the relay (or outbox disk) unavailable: below | progress pauses, no attempt spent  |
| undeliverable       | non-ASCII local part without SMTPUTF8         | that delivery fails; batch goes on |
| internal_error      | anything unexpected while sending one message | that delivery fails; batch goes on |

Relay unavailable (`relay_down`) is decided at SMTP time only (`refusal`, `unavailable`):
no connection or a broken one before MAIL, no greeting or 421 at it, STARTTLS or AUTH
failing, 421 to any command (the relay is closing the channel, whoever the recipient),
any 4xx to MAIL FROM (the relay refuses us for now, nothing about the reader), and
4.3.1 / 4.3.2 anywhere (the relay's own system is full or not accepting mail); with the
outbox backend, a disk that cannot take the file (No space left on device). None of
these says anything about the reader: no attempt is charged and the edition waits for
the relay (outage.py). A 4xx to RCPT or after DATA is the recipient's: it keeps its
attempts. Bounce reports that arrive later are read by `classify`, which this rule does
not change.

Models: RFC 3463 enhanced status codes (class.subject.detail), RFC 5321 (552 is
treated as temporary, as Mailman does), Mailman's split between failures of
some recipients and failures of the message.

A failure reported after the relay accepted the message (a DSN, a plain-text bounce, a
provider's event) is judged by newsletter/bounces/verdict.py, from the report's codes
and words: there a generic code (x.0.0, the one Exim always writes) takes the words of
its diagnostic, and words of a refusal of us win whatever the code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from newsletter.errors import NewsletterError


class FailureClass(StrEnum):
    TEMPORARY = "temporary"
    RECIPIENT_REFUSED = "recipient_refused"
    MESSAGE_REFUSED = "message_refused"
    POLICY_REFUSED = "policy_refused"
    RELAY_DOWN = "relay_down"
    UNDELIVERABLE = "undeliverable"
    INTERNAL_ERROR = "internal_error"


class Stage(StrEnum):
    """Where in the SMTP dialogue the answer came."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    LOCAL = "local"  # refused before anything was sent (our own checks)


class SendFailure(NewsletterError):
    """A message was not accepted. `failure_class` says what it means for everyone else."""

    def __init__(self, failure_class: FailureClass, message: str, code: int = 0, stage: Stage = Stage.LOCAL):
        super().__init__(message)
        self.failure_class, self.code, self.stage = failure_class, code, stage


_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Enhanced:
    klass: int
    subject: int
    detail: int


def enhanced_code(text: str) -> Enhanced | None:
    """The RFC 3463 code at the start of a reply's text, if there is one."""
    m = _ENHANCED.match(text or "")
    return Enhanced(int(m[1]), int(m[2]), int(m[3])) if m else None


def classify(stage: Stage, code: int, text: str = "") -> FailureClass:
    """The class of an SMTP refusal, from where it came, its code and its enhanced code."""
    if stage == Stage.CONNECT:
        return FailureClass.RELAY_DOWN
    ext = enhanced_code(text)
    if 400 <= code < 500 or (ext and ext.klass == 4):
        return FailureClass.TEMPORARY
    # Mailbox full, message too big for this mailbox: the mailbox exists; try later.
    if code == 552 or (ext and ext.subject == 2 and ext.detail in (2, 3)):
        return FailureClass.TEMPORARY
    if not 500 <= code < 600:
        return FailureClass.TEMPORARY  # not a reply SMTP defines: do not punish anyone
    if stage == Stage.MAIL:
        return FailureClass.MESSAGE_REFUSED  # the sender is refused, whoever the recipient
    if ext is not None:
        if ext.subject == 7:
            # Policy: at RCPT it is that domain's verdict on us; after DATA, on the content.
            return FailureClass.POLICY_REFUSED if stage == Stage.RCPT else FailureClass.MESSAGE_REFUSED
        if ext.subject in (1, 2):
            return FailureClass.RECIPIENT_REFUSED  # 5.1.x addressing, 5.2.x mailbox (2/3 above)
        if ext.subject in (3, 4, 6):
            return FailureClass.MESSAGE_REFUSED  # the system, the network, the content
        if stage == Stage.RCPT:
            return FailureClass.RECIPIENT_REFUSED  # 5.0.0 / 5.5.x to RCPT: the mailbox is unavailable
        return FailureClass.MESSAGE_REFUSED
    if stage == Stage.RCPT:
        if code in (550, 551, 553):
            return FailureClass.RECIPIENT_REFUSED
        if code == 554:
            return FailureClass.POLICY_REFUSED  # "transaction failed" to RCPT: in practice a block
        return FailureClass.MESSAGE_REFUSED  # 500-504: our dialogue, not their mailbox
    return FailureClass.MESSAGE_REFUSED  # DATA without an enhanced code


def unavailable(stage: Stage, code: int, text: str = "") -> bool:
    """An answer at SMTP time that says the relay cannot take mail now, from anyone to
    anyone: the edition waits, no attempt is charged."""
    if stage == Stage.CONNECT or code == 421:
        return True
    if not 400 <= code < 500:
        return False
    if stage == Stage.MAIL:
        return True
    ext = enhanced_code(text)
    return ext is not None and ext.klass == 4 and ext.subject == 3 and ext.detail in (1, 2)


def refusal(stage: Stage, code: int, text) -> SendFailure:
    """The failure for an SMTP answer, as the sender meets it."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split())
    cls = FailureClass.RELAY_DOWN if unavailable(stage, code, text) else classify(stage, code, text)
    return SendFailure(cls, f"{code} {text}"[:500], code, stage)
