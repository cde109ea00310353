"""Sign-up (a page, and JSON for the site's "Subscribe Free" box) and confirmation.

Every well-formed sign-up gets the same answer, in the same time, whatever the
address's state: the request is validated and counted per client address (429 past
the limit), answered, and only then handed to the dispatcher, which records it and
decides about the confirmation email (subscribers/signup.py). A honeypot field,
which people never fill in and form-filling robots do, is answered alike and dropped.
The routes are plain `def`s (the body is read first, by a dependency): their database
and Redis calls run in the thread pool, never on the event loop.
"""
from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from newsletter.errors import InvalidInput
from newsletter.http_common import client_ip, ctx
from newsletter.publications.models import Publication
from newsletter.subscribers.signup import confirm, confirmation_target, pending, validate
from newsletter.web.pages import Form, RawBody

router = APIRouter()

ANSWER = ("Thank you. If this address can subscribe, a confirmation email is on its way: "
          "open it to start receiving the newsletter.")


class SignupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    publication: str = Field(max_length=64)
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    sections: list[str] = Field(default_factory=list, max_length=50)
    website: str = Field(default="", max_length=200)  # the honeypot
    timezone: str = Field(default="", max_length=100)  # the browser's IANA zone (signup.html's script)


class SignupRefused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def accept_signup(w, ip: str, body: SignupBody, background: BackgroundTasks) -> None:
    """Validate and count; the work that depends on the address runs after the answer."""
    if not w.counters.hit(f"ip:{ip}", *w.settings.signup_per_client):
        raise SignupRefused(429, "Too many sign-ups from your network; please try again later.")
    with w.session() as s:
        pub = s.scalar(select(Publication).where(Publication.slug == body.publication,
                                                 Publication.active.is_(True), Publication.public.is_(True)))
        if pub is None:
            raise SignupRefused(400, f"Unknown publication {body.publication!r}.")
        try:
            request = validate(pub, body.email, body.name, body.sections or None, body.timezone)
        except InvalidInput as exc:
            raise SignupRefused(400, str(exc)) from None
    if not body.website:  # a robot: answered as usual, nothing done
        background.add_task(w.dispatcher.process_signup, request)


def _publications(w):
    """Those listed: active and public (`public = false` keeps an internal list off the page,
    and its sign-ups are refused as for an unknown publication)."""
    with w.session() as s:
        return list(s.scalars(select(Publication).where(Publication.active.is_(True), Publication.public.is_(True))
                              .order_by(Publication.name)))


@router.get("/")
@router.get("/subscribe")
def signup_page(request: Request, publication: str = ""):
    w = ctx(request)
    return w.page("signup.html", publications=_publications(w), chosen=publication, error=None, values={})


@router.post("/subscribe")
def signup_form(request: Request, background: BackgroundTasks, form: Form):
    w = ctx(request)
    values = {k: str(form.get(k, "")) for k in ("publication", "email", "name", "website", "timezone")}
    try:
        body = SignupBody(**values, sections=[str(x) for x in form.getlist("sections")])
        accept_signup(w, client_ip(request), body, background)
    except ValidationError:
        return w.page("signup.html", status=400, publications=_publications(w), chosen=values["publication"],
                      error="Please fill in the form: a publication and an email address.", values=values)
    except SignupRefused as exc:
        return w.page("signup.html", status=exc.status, publications=_publications(w),
                      chosen=values["publication"], error=exc.message, values=values)
    return w.page("signup_done.html", message=ANSWER)


@router.post("/api/subscribe")
def signup_json(request: Request, background: BackgroundTasks, raw: RawBody):
    w = ctx(request)
    try:
        body = SignupBody.model_validate_json(raw)
        accept_signup(w, client_ip(request), body, background)
    except ValidationError as exc:
        return JSONResponse({"status": "error", "message": "Invalid body: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())}, status_code=400)
    except SignupRefused as exc:
        return JSONResponse({"status": "error", "message": exc.message}, status_code=exc.status)
    return JSONResponse({"status": "ok", "message": ANSWER}, status_code=202)


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str):
    """A button, not an action: mail scanners open links and must not confirm for people.
    The page shows what pressing it applies: this link's request, nobody else's."""
    w = ctx(request)
    claim = w.tokens.read_confirm(token, w.settings.confirm_link_max_age_seconds)
    with w.session() as s:
        sub = confirmation_target(s, claim)
        return w.page("confirm.html", token=token, asked=pending(s, sub), current_name=sub.subscriber.name,
                      current_timezone=sub.subscriber.timezone)


@router.post("/confirm/{token}")
def confirm_post(request: Request, token: str, background: BackgroundTasks, form: Form):
    w = ctx(request)
    claim = w.tokens.read_confirm(token, w.settings.confirm_link_max_age_seconds)
    shown = form.get("shown")  # what the page showed (absent: a client without the page)
    with w.session() as s:
        sub = confirm(s, claim, str(shown)[:64] if shown is not None else None)
        pub = s.get(Publication, sub.publication_id)
        background.add_task(w.dispatcher.send_welcome, sub.id)  # once this commits and is answered
        return w.page("confirmed.html", publication=pub,
                      preferences_url=w.links.preferences_path(sub.subscriber_id, sub.subscriber.token_key))
