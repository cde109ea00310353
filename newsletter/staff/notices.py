"""Emails to staff about their own account: too many failed sign-ins (staff/throttle.py
decides when; at most once per window). Plain text, built with the standard library's
email package, sent through the configured delivery backend after the sign-in was
answered (so that its time tells nothing), from NEWSLETTER_STAFF_MAIL_FROM or the first
active publication's sender. Nothing is sent when there is neither."""
from __future__ import annotations

import logging
import secrets
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.publications.models import Publication
from newsletter.staff.models import StaffAccount
from newsletter.transport.backends import backend_from_settings
from newsletter.transport.failures import SendFailure

log = logging.getLogger(__name__)

FAILED_SIGN_INS = """\
Someone has tried to sign in to your newsletter console account, {email}, with a wrong
password at least {count} times in the last {minutes} minutes, from places you have not
signed in from before.

Sign-ins from those places now have to wait longer after each failure. You are not
locked out: from the browser and the network you usually sign in from, your sign-in
works as before.

If this was you, there is nothing to do. If it was not, nothing was let in; to be safe,
change your password (Account, in the console) and set up a second factor if you have
none.
"""


def _sender(session: Session, settings: Settings) -> str:
    if settings.staff_mail_from:
        return settings.staff_mail_from
    return session.scalar(select(Publication.sender_address).where(Publication.active.is_(True))
                          .order_by(Publication.id).limit(1)) or ""


def failed_sign_ins(engine: Engine, settings: Settings, staff_id: int) -> str:
    """Sends the alert; the Message-ID, or "" when there is no one or nothing to send from."""
    with Session(engine) as session:
        account = session.get(StaffAccount, staff_id)
        sender = _sender(session, settings)
        if account is None or not account.active or not sender:
            return ""
        to = account.email
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = "Failed sign-ins to your newsletter console account"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid("staff-alert." + secrets.token_hex(6), sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(FAILED_SIGN_INS.format(email=to, count=settings.login_limit_per_account_all_clients,
                                           minutes=settings.login_limit_window_seconds // 60))
    out = backend_from_settings(settings)
    try:
        out.open()
        out.send(sender, to, msg.as_bytes(), msg["Message-ID"])
    except (SendFailure, OSError) as exc:
        log.warning("the failed sign-in alert to staff account %s was not sent: %s", staff_id, exc)
        return ""
    finally:
        out.close()
    log.info("failed sign-in alert sent to staff account %s", staff_id)
    return msg["Message-ID"]
