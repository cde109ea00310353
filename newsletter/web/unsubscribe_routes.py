"""The List-Unsubscribe URL: one-click POST (RFC 8058), a GET that changes nothing,
the link unsubscribe with undo and an optional reason.

The undo is not the link: it is a short-lived signed token in the form of the page that
answered the unsubscribe, posted from this site only (subscribers/unsubscribe.py). Later,
signing up again (with its confirmation email) is the way back.

Every route here is a plain `def` (the form is read first, by a dependency): their
database calls run in the thread pool, so a burst of one-click requests during a send
never queues behind each other on the event loop."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.http_common import FORMS_REFERRER_POLICY, ctx, same_origin
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import SubscriptionStatus
from newsletter.subscribers.preferences import unsubscribe_all
from newsletter.subscribers.unsubscribe import resolve, undo_token, undo_with_token, unsubscribe_with_claim
from newsletter.tracking.models import Method
from newsletter.tracking.tokens import InvalidToken
from newsletter.web.pages import Form, mask

router = APIRouter()

REASONS = {
    "too-many": "Too many emails",
    "not-relevant": "The content is not relevant to me",
    "never-signed-up": "I never signed up",
    "elsewhere": "I read the news elsewhere",
    "other": "Another reason",
}


def _claim(w, session, token):
    claim = w.tokens.read_unsubscribe(token)
    subscriber, publication = resolve(session, claim)
    return claim, subscriber, publication


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str):
    """Shows what would happen; never changes anything (scanners and previews open links)."""
    w = ctx(request)
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        sub = lifecycle.subscription(s, subscriber.id, publication.id)
        return w.page("unsubscribe.html", publication=publication, masked=mask(subscriber.email),
                      token=token, active=bool(sub and sub.status == SubscriptionStatus.ACTIVE),
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key, claim.edition_id))


@router.post("/u/{token}")
def unsubscribe_post(request: Request, token: str, form: Form):
    w = ctx(request)
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if not one_click and form.get("action") != "unsubscribe":
        return w.page("error.html", status=400, title="Malformed request",
                      message="Expected the body List-Unsubscribe=One-Click or the unsubscribe form.")
    if one_click:
        return _one_click(w, token)
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        sub = lifecycle.subscription(s, subscriber.id, publication.id)
        was_active = sub is not None and sub.status == SubscriptionStatus.ACTIVE
        unsubscribe_with_claim(s, claim, Method.LINK)
        everything = form.get("scope") == "all"
        if everything:  # the person's other publications too
            unsubscribe_all(s, subscriber, Method.LINK, claim.edition_id)
        # An undo only for the subscription this answer ended: never a way back in for
        # whoever holds the link of someone who had already left.
        undo = undo_token(s, w.tokens, subscriber, publication) if was_active else None
        page = w.page("unsubscribed.html", publication=publication, masked=mask(subscriber.email),
                      token=token, undo=undo, everything=everything, reasons=REASONS,
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key, claim.edition_id))
        page.headers["Referrer-Policy"] = FORMS_REFERRER_POLICY  # so that the undo's post names its Origin
        return page


def _one_click(w, token: str):
    """RFC 8058: answer the POST itself; no redirect, no cookie. A genuine link whose
    subscriber is gone (erased, or their link key rotated by a change of address) is
    answered as a success, with nothing changed: a mailbox provider treats anything but
    2xx as a failure of its unsubscribe button, and the answer says nothing about anyone."""
    claim = w.tokens.read_unsubscribe(token)  # a forged or damaged link is still a 400
    with w.session() as s:
        try:
            out = unsubscribe_with_claim(s, claim, Method.ONE_CLICK)
        except InvalidToken:  # its subscriber is gone: nothing to change
            return w.page("one_click_done.html", publication=s.get(Publication, claim.publication_id))
        return w.page("one_click_done.html", publication=out.publication)


@router.post("/u/{token}/resubscribe")
def resubscribe_post(request: Request, token: str, form: Form):
    """The undo form of the unsubscribed page: the link's token in the path and the undo
    token, made for that subscriber, publication and unsubscribe, in the body."""
    w = ctx(request)
    if not same_origin(request, w.settings.web_base_url):
        raise InvalidToken("this form was posted from another site")
    with w.session() as s:
        out = undo_with_token(s, w.tokens, token, str(form.get("undo_token", "")),
                              w.settings.undo_unsubscribe_max_age_seconds)
        subscriber = out.subscriber
        return w.page("resubscribed.html", publication=out.publication, masked=mask(subscriber.email),
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key, out.edition_id))


@router.post("/u/{token}/reason")
def reason_post(request: Request, token: str, form: Form):
    w = ctx(request)
    reason = str(form.get("reason", ""))
    detail = str(form.get("detail", "")).strip()
    if reason not in REASONS or len(detail) > 1000:
        return w.page("error.html", status=400, title="Malformed request",
                      message="Pick one of the listed reasons; the text may have up to 1000 characters.")
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        lifecycle.record_reason(s, subscriber.id, publication.id, reason, detail)
        return w.page("thanks.html", publication=publication)

