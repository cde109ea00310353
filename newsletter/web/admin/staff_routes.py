"""Staff accounts (admins: add with a one-time set-password link or for single sign-on
only, change role and publications, disable, enable, a new link, remove a lost second
factor, require a second factor of admins or of everyone) and API tokens (everyone
their own; admins anyone's). A new token and a new link are shown once, on the answer to
the form, never in a URL."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.operators import publications
from newsletter.staff import accounts, api_tokens, second_factor
from newsletter.staff.access import Permission
from newsletter.staff.models import Role
from newsletter.web.admin.console import Form, Id, console, done

router = APIRouter()
ROLES = [r.value for r in Role]


def _staff_page(c, status: int = 200, **shown):
    return c.page("staff.html", status, accounts=[accounts.describe(c.db, a) for a in accounts.accounts(c.db, c.actor)],
                  roles=ROLES, shown=shown, policy=second_factor.policy(c.db), policies=second_factor.POLICIES,
                  pubs=[p["slug"] for p in publications.publications(c.db, c.actor)])


def _slugs(form) -> list[str]:
    return [str(v)[:64] for v in form.getlist("publications")][:200]


@router.get("/admin/staff")
def staff_page(request: Request):
    with console(request) as c:
        return _staff_page(c)


@router.post("/admin/staff")
def add(request: Request, form: Form):
    with console(request, form) as c:
        new = accounts.add(c.db, c.actor, c.settings.signing_key(), str(form.get("email", "")),
                           str(form.get("role", "")), sso_only=form.get("sso_only") == "on")
        if _slugs(form):
            accounts.set_publications(c.db, c.actor, new.account.id, _slugs(form))
        link = c.w.links.set_password(new.link_token) if new.link_token else ""
        return _staff_page(c, 201, link=link, email=new.account.email)


@router.post("/admin/staff/policy")
def policy(request: Request, form: Form):
    with console(request, form) as c:
        second_factor.set_policy(c.db, c.actor, str(form.get("require_2fa", ""))[:20])
    return done("/admin/staff", "policy_set")


@router.post("/admin/staff/{staff_id}/publications")
def set_publications(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        accounts.set_publications(c.db, c.actor, staff_id, None if form.get("all") == "on" else _slugs(form))
    return done("/admin/staff", "publications_set")


@router.post("/admin/staff/{staff_id}/second-factor/reset")
def reset_second_factor(request: Request, staff_id: Id, form: Form):
    with console(request, form) as c:
        second_factor.turn_off(c.db, c.actor, accounts.find(c.db, staff_id, c.actor))
    return done("/admin/staff", "second_factor_reset")


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
