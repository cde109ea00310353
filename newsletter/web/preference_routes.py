"""The preference centre: sections per publication, leave one or all, come back, add
another publication, change one's name or address, download everything held about
oneself, delete oneself (after a confirmation step). And the link sent to a new address:
opening it shows a button, pressing it changes the address (a button and not an action,
because mail scanners open links; the link is the credential and works once).

Every form carries a signed, expiring CSRF token bound to the subscriber (and to their
link key, so it dies with an erasure), and a post whose Origin names another site is
refused. The domain work is subscribers/preferences.py's and address_change.py's; the
download and the erasure are people/held.py's and people/erase.py's, as an admin's are.
"""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from newsletter.db import purge_deleted
from newsletter.errors import InvalidInput
from newsletter.http_common import FORMS_REFERRER_POLICY, ctx, same_origin
from newsletter.people.erase import erase_rows, forget_outside
from newsletter.people.held import person_data
from newsletter.subscribers import address_change, preferences
from newsletter.subscribers.click_history import HISTORY_DAYS
from newsletter.subscribers.models import Subscriber
from newsletter.tracking.models import Method
from newsletter.tracking.tokens import InvalidToken, check_key
from newsletter.web.pages import Form, mask

router = APIRouter()

ADDRESS_ASKED = ("Thank you. If the new address can receive our newsletters, a link is on its way to it: the "
                 "change happens when you open it. We have told your current address too.")



def _subscriber(w, session, token) -> tuple[Subscriber, int | None]:
    claim = w.tokens.read_preferences(token)
    subscriber = session.get(Subscriber, claim.subscriber_id)
    check_key(subscriber, claim.key)
    return subscriber, claim.edition_id


def _form_page(response):
    """A page whose forms are checked by their Origin (see admin/console.py)."""
    response.headers["Referrer-Policy"] = FORMS_REFERRER_POLICY
    return response


def _page(w, session, subscriber, token, saved=None, status=200, error=None):
    change = address_change.pending(session, subscriber)
    return _form_page(w.page(
        "preferences.html", status=status, masked=mask(subscriber.email), token=token,
        choices=preferences.current(session, subscriber), others=preferences.others(session, subscriber),
        person_name=subscriber.name, person_zone=subscriber.timezone, zones=preferences.zone_names(),
        pending=mask(change.new_email) if change else None, saved=saved, error=error,
        csrf=w.tokens.csrf(subscriber.id, subscriber.token_key), history_days=HISTORY_DAYS))


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str):
    w = ctx(request)
    with w.session() as s:
        subscriber, _ = _subscriber(w, s, token)
        return _page(w, s, subscriber, token)


def _checked(w, request: Request, session, token: str, form: FormData) -> tuple[Subscriber, int | None]:
    subscriber, edition_id = _subscriber(w, session, token)
    if not same_origin(request, w.settings.web_base_url):
        raise InvalidToken("this form was posted from another site")
    w.tokens.check_csrf(str(form.get("csrf", "")), subscriber.id, subscriber.token_key)
    return subscriber, edition_id


def _bad(w, title: str, message: str):
    return w.page("error.html", status=400, title=title, message=message)


@router.post("/preferences/{token}")
def preferences_post(request: Request, token: str, form: Form, background: BackgroundTasks):
    w = ctx(request)
    action = form.get("action")
    with w.session() as s:
        subscriber, edition_id = _checked(w, request, s, token, form)
        if action == "unsubscribe_all":
            preferences.unsubscribe_all(s, subscriber, Method.PREFERENCE_CENTRE, edition_id)
            return _page(w, s, subscriber, token, saved="You are unsubscribed from everything.")
        if action == "save":
            return _save(w, s, subscriber, token, form, edition_id)
        if action == "add":
            return _add(w, s, subscriber, token, form)
        if action == "name":
            try:
                preferences.rename(s, subscriber, str(form.get("name", "")))
            except InvalidInput as exc:  # raised before anything changed
                return _page(w, s, subscriber, token, status=400, error=str(exc))
            return _page(w, s, subscriber, token, saved="Your name is saved.")
        if action == "timezone":
            try:
                preferences.set_timezone(s, subscriber, str(form.get("timezone", ""))[:100])
            except InvalidInput as exc:  # raised before anything changed
                return _page(w, s, subscriber, token, status=400, error=str(exc))
            return _page(w, s, subscriber, token, saved="Your time zone is saved.")
        if action == "address":
            if not w.counters.hit(f"address:{subscriber.id}", *w.settings.signup_emails_per_address):
                return _page(w, s, subscriber, token, status=429,
                             error="Too many changes of address asked for; please try again in an hour.")
            try:
                change = address_change.request_change(s, subscriber, str(form.get("email", "")))
            except InvalidInput as exc:  # the address's syntax, or the current one: nothing about anyone else
                return _page(w, s, subscriber, token, status=400, error=str(exc))
            background.add_task(w.dispatcher.send_address_change, change.id)  # after the commit and the answer
            return _page(w, s, subscriber, token, saved=ADDRESS_ASKED)
        if action == "download":
            name = f"my-data-{subscriber.id}.json"
            return JSONResponse(person_data(s, subscriber),  # the same document as an admin's export
                                headers={"Content-Disposition": f'attachment; filename="{name}"'})
        if "move" in form:  # an up or down button of the reader's own order: "<publication id>:<slug>:up|down"
            return _move(w, s, subscriber, token, str(form.get("move", "")), edition_id)
        if action == "clicks":
            return _clicks(w, s, subscriber, token, form, edition_id)
        if action == "erase":
            return _form_page(w.page("erase_me.html", masked=mask(subscriber.email), token=token,
                                     csrf=w.tokens.csrf(subscriber.id, subscriber.token_key)))
    return _bad(w, "Malformed request", "Unknown action.")


def _id(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500)."""
    return text.isascii() and text.isdigit() and len(text) <= 10


def _save(w, s, subscriber, token, form: FormData, edition_id):
    choices = {c.publication.id: c for c in preferences.current(s, subscriber)}
    for key in form.keys():
        if key.startswith(("pub-", "sec-")):
            pid = key[4:]
            if not _id(pid) or int(pid) not in choices:
                return _bad(w, "Unknown publication", f"No publication {pid!r} in your subscriptions.")
    wanted = {}
    for pid, choice in choices.items():
        sections = set(map(str, form.getlist(f"sec-{pid}")))
        known = {sec.slug for sec in choice.publication.ordered_sections()}
        if sections - known:
            return _bad(w, "Unknown section", f"Unknown sections: {', '.join(sorted(sections - known))}.")
        wanted[pid] = (form.get(f"pub-{pid}") == "on", sections)
    preferences.apply(s, subscriber, wanted, edition_id)
    return _page(w, s, subscriber, token, saved="Saved. Changes apply from the next edition.")


def _add(w, s, subscriber, token, form: FormData):
    offered = {p.id: p for p in preferences.others(s, subscriber)}
    wanted = {}
    for key in form.keys():
        if key.startswith("add-"):
            pid = key[4:]
            if not _id(pid) or int(pid) not in offered:
                return _bad(w, "Unknown publication", f"No publication {pid!r} to add.")
            sections = set(map(str, form.getlist(f"addsec-{pid}")))
            known = {sec.slug for sec in offered[int(pid)].ordered_sections()}
            if sections - known:
                return _bad(w, "Unknown section", f"Unknown sections: {', '.join(sorted(sections - known))}.")
            wanted[int(pid)] = sections
    if not wanted:
        return _page(w, s, subscriber, token, status=400, error="Tick the newsletters you want to add.")
    preferences.add(s, subscriber, wanted, w.settings.signing_key())
    return _page(w, s, subscriber, token, saved="Added. You get it from the next edition.")


def _move(w, s, subscriber, token, value: str, edition_id):
    pid, _, rest = value.partition(":")
    slug, _, direction = rest.rpartition(":")
    if not _id(pid) or direction not in ("up", "down"):
        return _bad(w, "Malformed request", "Unknown move.")
    try:
        preferences.move_section(s, subscriber, int(pid), slug, -1 if direction == "up" else 1, edition_id)
    except InvalidInput as exc:  # not their publication, or not its section: nothing changed
        return _page(w, s, subscriber, token, status=400, error=str(exc))
    return _page(w, s, subscriber, token, saved="Your order is saved. The next edition follows it.")


def _clicks(w, s, subscriber, token, form: FormData, edition_id):
    pid = str(form.get("publication", ""))
    if not _id(pid):
        return _bad(w, "Malformed request", "Unknown publication.")
    keep = form.get("history") == "on"
    try:
        preferences.set_click_history(s, subscriber, int(pid), keep, form.get("first") == "on", edition_id)
    except InvalidInput as exc:
        return _page(w, s, subscriber, token, status=400, error=str(exc))
    return _page(w, s, subscriber, token, saved="Saved: we keep a record of the stories you click." if keep
                 else "Saved: we keep no record of your clicks (what we had is deleted).")


@router.post("/preferences/{token}/erase")
def erase_post(request: Request, token: str, form: Form):
    """The confirmation step's answer: everything about the person goes (people/erase.py)."""
    w = ctx(request)
    if form.get("confirm") != "yes":
        return _bad(w, "Not deleted", "Tick the box to confirm that everything should be deleted.")
    with w.session() as s:
        subscriber, _ = _checked(w, request, s, token, form)
        addresses = erase_rows(s, w.settings.signing_key(), subscriber).addresses  # as an admin's erasure
    purge_deleted(w.engine)  # after the commit: the database files, counters and outbox files
    forget_outside(w.settings, w.counters, addresses)
    return w.page("erased_me.html")


def _address_claim(w, token: str):
    return w.tokens.read_address_change(token, w.settings.confirm_link_max_age_seconds)


@router.get("/address/{token}")
def address_page(request: Request, token: str):
    w = ctx(request)
    claim = _address_claim(w, token)
    with w.session() as s:
        change, subscriber = address_change.claimed(s, claim)
        return _form_page(w.page("address_confirm.html", token=token, new_address=change.new_email,
                                 old_address=mask(subscriber.email)))


@router.post("/address/{token}")
def address_post(request: Request, token: str):
    w = ctx(request)
    claim = _address_claim(w, token)
    if not same_origin(request, w.settings.web_base_url):
        raise InvalidToken("this form was posted from another site")
    with w.session() as s:
        subscriber = address_change.confirm(s, w.settings.signing_key(), claim)
        return w.page("address_changed.html", new_address=subscriber.email,
                      preferences_url=w.links.preferences_path(subscriber.id, subscriber.token_key))
