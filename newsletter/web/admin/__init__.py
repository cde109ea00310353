"""The web console at /admin: server-rendered pages (templates/admin/) for staff, one
router per area. Pages call the same domain functions as the API and the command line
(console.py explains the frame every page shares); they never write to the database
themselves."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from newsletter.web.admin import (
    account_routes,
    audit_routes,
    auth_routes,
    curation_routes,
    dashboard_routes,
    edition_routes,
    figures_routes,
    import_routes,
    outgoing_webhook_routes,
    preview_routes,
    publication_edit_routes,
    publication_routes,
    second_factor_routes,
    sso_routes,
    staff_routes,
    subscriber_routes,
    suppression_routes,
)
from newsletter.web.admin.console import PREFIX, SignInNeeded, render, sign_in_path

IMPORT_PATH = import_routes.PATH  # a larger body limit than the forms elsewhere (web/app.py)
MODULES = (auth_routes, second_factor_routes, sso_routes, account_routes, dashboard_routes, subscriber_routes,
           import_routes, suppression_routes, publication_edit_routes,
           publication_routes, edition_routes, curation_routes, preview_routes, staff_routes,
           audit_routes, figures_routes, outgoing_webhook_routes)


def include(app: FastAPI) -> None:
    for module in MODULES:
        app.include_router(module.router)

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, exc: SignInNeeded):
        back = (request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method == "GET" else "")
        return RedirectResponse(sign_in_path(back), status_code=303)


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None):
    page = render(request, "error.html", status, title=title, message=message)
    if headers:
        page.headers.update(headers)
    return page
