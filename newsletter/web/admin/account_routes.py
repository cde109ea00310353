"""One's own account in the console: the password, the second factor (set up with a QR
code, new recovery codes, turned off with the password), and the remembered browsers.
A new password ends every session and revokes every API token of the account
(staff/accounts.py)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from newsletter.errors import Conflict, InvalidInput
from newsletter.staff import accounts, devices, passwords, second_factor
from newsletter.staff.access import NotSignedIn, TooManyAttempts
from newsletter.web.admin.auth_routes import signed_out
from newsletter.web.admin.console import Console, Form, Id, console, done
from newsletter.web.admin.second_factor_routes import enrol_page_for

router = APIRouter()


def account_page(c: Console, status: int = 200, error: str = "", notice: str = ""):
    account = c.current.account
    return c.page("account.html", status, error=error, notice=notice, second_factor=second_factor.enabled(account),
                  remaining=second_factor.remaining(c.db, account.id) if second_factor.enabled(account) else 0,
                  devices=devices.listed(c.db, account.id), sso_only=account.sso_only)


@router.get("/admin/account")
def account(request: Request):
    with console(request) as c:
        return account_page(c)


@router.post("/admin/account/second-factor/start")
def start(request: Request, form: Form):
    with console(request, form) as c:
        try:
            enrolment = second_factor.start(c.db, c.settings, c.current.account)
        except Conflict as exc:
            return account_page(c, 409, error=f"{exc}.")
        return enrol_page_for(request, "", enrolment, "/admin/account/second-factor/confirm", framed=c)


@router.post("/admin/account/second-factor/confirm")
def confirm(request: Request, form: Form):
    with console(request, form) as c:
        try:
            codes = second_factor.confirm(c.db, c.settings, c.actor, c.current.account,
                                          str(form.get("code", ""))[:40])
        except (NotSignedIn, Conflict) as exc:
            enrolment = second_factor.pending(c.settings, c.current.account)
            if enrolment is None:
                return account_page(c, 409, error=f"{exc}.")
            return enrol_page_for(request, "", enrolment, "/admin/account/second-factor/confirm", 400,
                               f"{str(exc).capitalize()}.", framed=c)
        return c.page("recovery_codes.html", codes=codes, next="/admin/account")


@router.post("/admin/account/second-factor/codes")
def new_codes(request: Request, form: Form):
    """New recovery codes, for a current code of the authenticator (the old ones stop working)."""
    with console(request, form) as c:
        try:
            second_factor.check(c.db, c.settings, request.app.state.login_limits, c.current.account,
                                str(form.get("code", ""))[:40])
        except (NotSignedIn, TooManyAttempts) as exc:
            return account_page(c, 400, error=f"{str(exc).capitalize()}.")
        codes = second_factor.new_recovery_codes(c.db, c.current.account)
        return c.page("recovery_codes.html", codes=codes, next="/admin/account")


@router.post("/admin/account/second-factor/off")
def turn_off(request: Request, form: Form):
    with console(request, form) as c:
        if not passwords.verify(c.current.account.password_hash, str(form.get("current", ""))[:1024]):
            return account_page(c, 400, error="The current password is not right.")
        if second_factor.required(c.db, c.current.account):
            return account_page(c, 409, error="A second factor is required of your account: it stays on.")
        second_factor.turn_off(c.db, c.actor, c.current.account)
    return done("/admin/account", "second_factor_off")


@router.post("/admin/account/devices/{device_id}/revoke")
def revoke_device(request: Request, device_id: Id, form: Form):
    with console(request, form) as c:
        devices.revoke(c.db, c.actor, device_id)
    return done("/admin/account", "device_revoked")


@router.post("/admin/account")
def change_password(request: Request, form: Form):
    current, new, again = (str(form.get(k, ""))[:1024] for k in ("current", "password", "again"))
    with console(request, form) as c:
        if new != again:
            return account_page(c, 400, error="The two new passwords differ.")
        try:
            accounts.change_own_password(c.db, c.actor, current, new)
        except NotSignedIn:
            return account_page(c, 400, error="The current password is not right.")
        except (InvalidInput, Conflict) as exc:
            return account_page(c, 400, error=f"{exc}.")
    return signed_out(request, "password_changed")  # every session ended, every API token revoked
