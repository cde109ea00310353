"""The List-Unsubscribe URL: one-click POST (RFC 8058), a GET that changes nothing,
the link unsubscribe with undo and an optional reason."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import SubscriptionStatus
from newsletter.subscribers.preferences import unsubscribe_all
from newsletter.tracking.models import Method
from newsletter.tracking.unsubscribe import resolve
from newsletter.web.pages import ctx, mask

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
async def unsubscribe_post(request: Request, token: str):
    w = ctx(request)
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if not one_click and form.get("action") != "unsubscribe":
        return w.page("error.html", status=400, title="Malformed request",
                      message="Expected the body List-Unsubscribe=One-Click or the unsubscribe form.")
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        if one_click:
            lifecycle.unsubscribe(s, subscriber, publication, Method.ONE_CLICK, claim.edition_id)
            # RFC 8058: answer the POST itself; no redirect, no cookie.
            return w.page("one_click_done.html", publication=publication)
        everything = form.get("scope") == "all"
        if everything:
            unsubscribe_all(s, subscriber, Method.LINK, claim.edition_id)
        lifecycle.unsubscribe(s, subscriber, publication, Method.LINK, claim.edition_id)
        return w.page("unsubscribed.html", publication=publication, masked=mask(subscriber.email),
                      token=token, everything=everything, reasons=REASONS,
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key, claim.edition_id))


@router.post("/u/{token}/resubscribe")
def resubscribe_post(request: Request, token: str):
    w = ctx(request)
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        lifecycle.resubscribe(s, subscriber, publication, Method.LINK, claim.edition_id)
        return w.page("resubscribed.html", publication=publication, masked=mask(subscriber.email),
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key, claim.edition_id))


@router.post("/u/{token}/reason")
async def reason_post(request: Request, token: str):
    w = ctx(request)
    form = await request.form()
    reason = str(form.get("reason", ""))
    detail = str(form.get("detail", "")).strip()
    if reason not in REASONS or len(detail) > 1000:
        return w.page("error.html", status=400, title="Malformed request",
                      message="Pick one of the listed reasons; the text may have up to 1000 characters.")
    with w.session() as s:
        claim, subscriber, publication = _claim(w, s, token)
        lifecycle.record_reason(s, subscriber.id, publication.id, reason, detail)
        return w.page("thanks.html", publication=publication)

