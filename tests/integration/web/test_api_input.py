"""Bad input the API refuses at its door, each as a 4xx RFC 9457 problem document (issue 10):
a body over the limit (413), an import that is not a CSV body (415), a query parameter
given twice (400). Nothing is changed by any of them."""
from __future__ import annotations

import pytest
from fastapi import FastAPI, Query, Request

from newsletter.api.common import single_query_values
from newsletter.errors import InvalidInput
from tests.integration.web.staff_helpers import client, fingerprint, make_staff

PROBLEM = "application/problem+json"
IMPORT = "/api/v1/imports?publication=spacewar-daily"
CSV = b"email,name\nreader@example.org,Reader\n"


@pytest.fixture
def admin(engine, web_settings, publication, server):
    with client(server, make_staff(engine, web_settings).tokens["admin"]) as http:
        yield http


def problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM, answer.headers
    body = answer.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def test_a_body_too_large_is_a_problem_document_under_the_api(engine, admin, http, web_settings):
    before = fingerprint(engine)
    big = b'{"publication": "spacewar-daily", "email": "' + b"a" * 100_000 + b'@example.org"}'
    declared = admin.post("/api/v1/subscribers", content=big, headers={"Content-Type": "application/json"})
    assert str(web_settings.web_max_body_bytes) in problem(declared, 413)["detail"]

    def chunks():  # no Content-Length: the limit is found while reading
        yield big[:50_000]
        yield big[50_000:]
    streamed = admin.post("/api/v1/subscribers", content=chunks(), headers={"Content-Type": "application/json"})
    problem(streamed, 413)
    problem(http.post("/api/subscribe", content=b"x" * 100_000), 413)  # the sign-up page's JSON door
    assert fingerprint(engine) == before
    # Pages keep their own answers: plain text when the length is announced, the error page
    # when the limit is found while reading (the form parser no longer turns it into a 400).
    page = http.post("/subscribe", content=b"x" * 100_000)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/plain")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    page = http.post("/subscribe", content=(b"email=" + b"x" * 50_000 for _ in range(2)), headers=form)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("content_type", [
    "text/csv", "text/csv; charset=utf-8", "TEXT/CSV;charset=UTF-8", "text/plain", "text/plain; charset=us-ascii"])
def test_imports_take_a_csv_body(admin, content_type):
    answer = admin.post(IMPORT, content=CSV, headers={"Content-Type": content_type})
    assert answer.status_code == 202, answer.text


def test_imports_refuse_what_is_not_a_csv_body(engine, admin):
    before = fingerprint(engine)
    refused = [
        admin.post(IMPORT, files={"file": ("list.csv", CSV, "text/csv")}),  # multipart/form-data
        admin.post(IMPORT, json={"email": "reader@example.org"}),
        admin.post(IMPORT, content=CSV, headers={"Content-Type": "application/octet-stream"}),
        admin.post(IMPORT, content=CSV, headers={"Content-Type": "application/x-www-form-urlencoded"}),
        admin.post(IMPORT, content=CSV, headers={"Content-Type": "text/csv; charset=latin-1"}),
        admin.post(IMPORT, content=CSV),  # no Content-Type at all
    ]
    for answer in refused:
        body = problem(answer, 415)
        assert "text/csv" in body["detail"] and "text/plain" in body["detail"], body
        assert answer.headers["accept-post"] == "text/csv, text/plain"
    assert fingerprint(engine) == before


@pytest.mark.parametrize("query", ["status=bogus&status=active", "q=1&q=2", "limit=5&q=a&limit=6"])
def test_a_query_parameter_given_twice_is_refused(admin, query):
    body = problem(admin.get(f"/api/v1/subscribers?{query}"), 400)
    name = query.split("=")[0]
    assert f"'{name}'" in body["detail"], body


def test_a_query_parameter_given_twice_is_refused_before_any_change(engine, admin):
    before = fingerprint(engine)
    problem(admin.post(IMPORT + "&publication=spacewar-daily", content=CSV, headers={"Content-Type": "text/csv"}), 400)
    problem(admin.post(IMPORT + "&skip_invalid=true&skip_invalid=false", content=CSV,
                       headers={"Content-Type": "text/csv"}), 400)
    assert fingerprint(engine) == before
    # Unknown parameters stay ignored; a parameter given once is fine.
    assert admin.get("/api/v1/subscribers?q=a&unknown=1&other=2").status_code == 200


def test_a_query_parameter_documented_as_a_list_may_be_repeated():
    """None is today; one added later must not be refused by the rule above."""
    app = FastAPI()

    @app.get("/api/v1/things")
    def things(tag: list[str] = Query(default=[]), q: str = ""):  # noqa: B008
        return {}

    app.state.api_openapi = app.openapi()
    route = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1/things")

    def ask(query: str) -> None:
        single_query_values(Request({"type": "http", "method": "GET", "path": "/api/v1/things", "headers": [],
                                     "query_string": query.encode(), "app": app, "route": route}))

    ask("tag=a&tag=b&q=x")
    with pytest.raises(InvalidInput, match="'q'"):
        ask("tag=a&q=x&q=y")
