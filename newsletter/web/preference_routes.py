"""The preference centre: sections per publication, leave one or all, come back.

Its form carries a signed, expiring CSRF token bound to the subscriber, and a post
whose Origin names another site is refused."""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request

from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.preferences import apply, current, unsubscribe_all
from newsletter.tracking.models import Method
from newsletter.tracking.tokens import InvalidToken, check_key
from newsletter.web.pages import ctx, mask

router = APIRouter()


def _subscriber(w, session, token) -> tuple[Subscriber, int | None]:
    claim = w.tokens.read_preferences(token)
    subscriber = session.get(Subscriber, claim.subscriber_id)
    check_key(subscriber, claim.key)
    return subscriber, claim.edition_id


def _page(w, session, subscriber, token, saved=None):
    return w.page("preferences.html", masked=mask(subscriber.email), token=token,
                  choices=current(session, subscriber), saved=saved,
                  csrf=w.tokens.csrf(subscriber.id, subscriber.token_key))


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str):
    w = ctx(request)
    with w.session() as s:
        subscriber, _ = _subscriber(w, s, token)
        return _page(w, s, subscriber, token)


def _same_origin(request: Request, base_url: str) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # old clients send none; the CSRF token still has to match
    if origin == "null":
        return False
    got = urlsplit(origin)
    allowed = {urlsplit(base_url).netloc, request.headers.get("host", "")}
    return got.netloc in allowed


@router.post("/preferences/{token}")
async def preferences_post(request: Request, token: str):
    w = ctx(request)
    form = await request.form()
    with w.session() as s:
        subscriber, edition_id = _subscriber(w, s, token)
        if not _same_origin(request, w.settings.web_base_url):
            raise InvalidToken("this form was posted from another site")
        w.tokens.check_csrf(str(form.get("csrf", "")), subscriber.id, subscriber.token_key)
        if form.get("action") == "unsubscribe_all":
            unsubscribe_all(s, subscriber, Method.PREFERENCE_CENTRE, edition_id)
            return _page(w, s, subscriber, token, saved="You are unsubscribed from everything.")
        if form.get("action") != "save":
            return w.page("error.html", status=400, title="Malformed request", message="Unknown action.")
        choices = {c.publication.id: c for c in current(s, subscriber)}
        wanted = {}
        for key in form.keys():
            if key.startswith(("pub-", "sec-")):
                pid = key[4:]
                if not pid.isdigit() or int(pid) not in choices:
                    return w.page("error.html", status=400, title="Unknown publication",
                                  message=f"No publication {pid!r} in your subscriptions.")
        for pid, choice in choices.items():
            sections = set(map(str, form.getlist(f"sec-{pid}")))
            known = {sec.slug for sec in choice.publication.ordered_sections()}
            if sections - known:
                return w.page("error.html", status=400, title="Unknown section",
                              message=f"Unknown sections: {', '.join(sorted(sections - known))}.")
            wanted[pid] = (form.get(f"pub-{pid}") == "on", sections)
        apply(s, subscriber, wanted, edition_id)
        return _page(w, s, subscriber, token, saved="Saved. Changes apply from the next edition.")
