"""/api/v1/staff, /api/v1/tokens, /api/v1/audit: accounts (admins), API tokens (one's
own; admins: anyone's), the audit log (admins)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from newsletter.api.auth import Caller
from newsletter.api.common import MAX_ID, Before, Body, Id
from newsletter.csvout import csv_chunks
from newsletter.db import session_scope
from newsletter.http_common import ctx
from newsletter.staff import accounts, api_tokens, audit, second_factor
from newsletter.staff.access import Permission, require

router = APIRouter(tags=["staff"])


@router.get("/staff", summary="Staff accounts (admins)")
def list_staff(request: Request, actor: Caller):
    with ctx(request).session() as s:
        return {"items": [accounts.describe(s, a) for a in accounts.accounts(s, actor)]}


Slugs = Annotated[list[Annotated[str, Field(max_length=64)]] | None,
                  Field(default=None, max_length=200, description="the publications the role holds for; "
                                                                  "null or [] (or left out): every publication")]


class NewStaff(Body):
    email: str = Field(max_length=320)
    role: str = Field(max_length=16)
    publications: Slugs = None
    sso_only: bool = Field(default=False, description="signs in with single sign-on only: no password, no link")


@router.post("/staff", status_code=201, summary="Add an account; answers a one-time set-password link (admins)")
def add_staff(request: Request, actor: Caller, body: NewStaff):
    w = ctx(request)
    with w.session() as s:
        new = accounts.add(s, actor, w.settings.signing_key(), body.email, body.role, sso_only=body.sso_only)
        if body.publications:
            accounts.set_publications(s, actor, new.account.id, body.publications)
        out = accounts.describe(s, new.account)
    if new.link_token:
        out["set_password_link"] = w.links.set_password(new.link_token)
    return out


class StaffChanges(Body):
    role: str | None = Field(default=None, max_length=16)
    publications: Slugs = None
    all_publications: bool = Field(default=False, description="true: the role holds for every publication again")


@router.patch("/staff/{staff_id}", summary="Change an account's role or its publications (admins)")
def change_staff(request: Request, actor: Caller, staff_id: Id, body: StaffChanges):
    with ctx(request).session() as s:
        account = accounts.find(s, staff_id, actor)
        if body.role is not None:
            accounts.set_role(s, actor, staff_id, body.role)
        if body.publications is not None or body.all_publications:
            accounts.set_publications(s, actor, staff_id, None if body.all_publications else body.publications)
        return accounts.describe(s, account)


@router.post("/staff/{staff_id}/disable", summary="No more sign-ins or API calls; sessions end (admins)")
def disable_staff(request: Request, actor: Caller, staff_id: Id):
    with ctx(request).session() as s:
        return accounts.describe(s, accounts.disable(s, actor, staff_id))


@router.post("/staff/{staff_id}/enable", summary="Enable an account again (admins)")
def enable_staff(request: Request, actor: Caller, staff_id: Id):
    with ctx(request).session() as s:
        return accounts.describe(s, accounts.enable(s, actor, staff_id))


@router.post("/staff/{staff_id}/second-factor/reset", summary="Remove an account's second factor: a lost "
                                                              "device (admins)")
def reset_second_factor(request: Request, actor: Caller, staff_id: Id):
    with ctx(request).session() as s:
        account = accounts.find(s, staff_id, actor)
        second_factor.turn_off(s, actor, account)
        return accounts.describe(s, account)


class Policy(Body):
    require_second_factor: str = Field(max_length=16, description="none, admins or all")


@router.get("/staff-policy", summary="Whom a second factor is required of (admins)")
def get_policy(request: Request, actor: Caller):
    require(actor, Permission.STAFF)
    with ctx(request).session() as s:
        return {"require_second_factor": second_factor.policy(s)}


@router.put("/staff-policy", summary="Require a second factor of none, admins or all (admins)")
def put_policy(request: Request, actor: Caller, body: Policy):
    with ctx(request).session() as s:
        return {"require_second_factor": second_factor.set_policy(s, actor, body.require_second_factor)}


@router.post("/staff/{staff_id}/password-link", summary="A new one-time set-password link (admins)")
def staff_password_link(request: Request, actor: Caller, staff_id: Id):
    w = ctx(request)
    with w.session() as s:
        token = accounts.reset_link(s, actor, w.settings.signing_key(), staff_id)
    return {"set_password_link": w.links.set_password(token)}


AccountRef = Annotated[str, Query(max_length=320, description="admins: an account id or address, or * for all")]


@router.get("/tokens", summary="API tokens: your own (admins: any account's)")
def list_tokens(request: Request, actor: Caller, account: AccountRef = ""):
    with ctx(request).session() as s:
        return {"items": [api_tokens.as_dict(t) for t in api_tokens.tokens(s, actor, account or None)]}


class NewToken(Body):
    name: str = Field(max_length=100)
    role: str | None = Field(default=None, max_length=16, description="at most the account's; default: its role")
    account: str | None = Field(default=None, max_length=320, description="admins: another account")


@router.post("/tokens", status_code=201, summary="Create an API token; the token is shown in this answer only")
def create_token(request: Request, actor: Caller, body: NewToken):
    with ctx(request).session() as s:
        row, raw = api_tokens.create(s, actor, body.name, body.role, body.account)
        return {**api_tokens.as_dict(row), "token": raw}


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(request: Request, actor: Caller, token_id: Id):
    with ctx(request).session() as s:
        return api_tokens.as_dict(api_tokens.revoke(s, actor, token_id))


@router.get("/audit", summary="The audit log, newest first (admins)")
def list_audit(request: Request, actor: Caller, action: Annotated[str, Query(max_length=64)] = "",
               target: Annotated[str, Query(max_length=200)] = "",
               staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
               before: Before = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    with ctx(request).session() as s:
        rows = audit.entries(s, actor, action, target, staff_id, before, limit)
        return {"items": [audit.as_dict(e) for e in rows],
                "next_cursor": rows[-1].id if len(rows) == limit else None}


@router.get("/audit/export.csv", summary="The whole audit log as CSV (admins)", response_class=StreamingResponse)
def export_audit(request: Request, actor: Caller):
    w = ctx(request)
    require(actor, Permission.AUDIT)  # before the first byte: a refusal is a 403, not a broken download

    def stream():
        with session_scope(w.settings.effective_database_url) as s:
            yield from csv_chunks(audit.export_rows(s, actor))

    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
