"""Staff accounts (admins: add with a one-time set-password link, change role, disable,
enable, a new link) and API tokens (everyone their own; admins anyone's). A new token
and a new link are shown once, on the answer to the form, never in a URL."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.staff import accounts, api_tokens
from newsletter.staff.access import Permission
from newsletter.staff.models import Role
from newsletter.web.admin.console import Form, Id, console, done

router = APIRouter()
ROLES = [r.value for r in Role]


def _staff_page(c, status: int = 200, **shown):
    return c.page("staff.html", status, accounts=[accounts.as_dict(a) for a in accounts.accounts(c.db, c.actor)],
                  roles=ROLES, shown=shown)


@router.get("/admin/staff")
def staff_page(request: Request):
    with console(request) as c:
        return _staff_page(c)


@router.post("/admin/staff")
def add(request: Request, form: Form):
    with console(request, form) as c:
        new = accounts.add(c.db, c.actor, c.settings.signing_key(), str(form.get("email", "")),
                           str(form.get("role", "")))
        link = c.w.links.set_password(new.link_token)
        return _staff_page(c, 201, link=link, email=new.account.email)


@router.post("/admin/staff/{staff_id}/role")
def role(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        accounts.set_role(c.db, c.actor, staff_id, str(form.get("role", "")))
    return done("/admin/staff", "role_changed")


@router.post("/admin/staff/{staff_id}/disable")
def disable(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        accounts.disable(c.db, c.actor, staff_id)
    return done("/admin/staff", "staff_disabled")


@router.post("/admin/staff/{staff_id}/enable")
def enable(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        accounts.enable(c.db, c.actor, staff_id)
    return done("/admin/staff", "staff_enabled")


@router.post("/admin/staff/{staff_id}/password-link")
def password_link(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        token = accounts.reset_link(c.db, c.actor, c.settings.signing_key(), staff_id)
        email = accounts.find(c.db, staff_id, c.actor).email
        return _staff_page(c, link=c.w.links.set_password(token), email=email)


def _tokens_page(c, status: int = 200, **shown):
    everyone = c.actor.can(Permission.STAFF)
    rows = api_tokens.tokens(c.db, c.actor, "*" if everyone else None)
    owners = ({a.id: a.email for a in accounts.accounts(c.db, c.actor)} if everyone
              else {c.actor.staff_id: c.actor.label})
    return c.page("tokens.html", status, tokens=[{**api_tokens.as_dict(t), "owner": owners.get(t.staff_id, "?")}
                                                 for t in rows],
                  roles=ROLES, everyone=everyone, shown=shown)


@router.get("/admin/tokens")
def tokens_page(request: Request):
    with console(request) as c:
        return _tokens_page(c)


@router.post("/admin/tokens")
def create_token(request: Request, form: Form):
    with console(request, form) as c:
        row, raw = api_tokens.create(c.db, c.actor, str(form.get("name", "")), str(form.get("role", "")) or None,
                                     str(form.get("account", "")).strip() or None)
        return _tokens_page(c, 201, token=raw, name=row.name)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: Id, form: Form):
    with console(request, form) as c:
        api_tokens.revoke(c.db, c.actor, token_id)
    return done("/admin/tokens", "revoked")
