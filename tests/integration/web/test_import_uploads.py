"""Import uploads on the real server: who may upload is decided before any byte of the
body is read (the API and the console's multipart form alike), the body goes to disk and
is removed after the job, too many uploads at once are refused with a clear 503, and a
bad row at the very end of a file leaves nothing behind. (Memory over 100k and 1M rows:
bench/import_web.py.)"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import Subscriber
from tests.integration.servers import wait_for
from tests.integration.web.console_helpers import sign_in
from tests.integration.web.staff_helpers import client, make_staff

IMPORT = "/api/v1/imports?publication=spacewar-daily"
BIG = 50 * 1024 * 1024  # announced, never sent


@pytest.fixture
def web_settings(web_settings):
    web_settings.import_max_concurrent = 1
    return web_settings


@pytest.fixture
def staff(engine, web_settings, publication, server):
    return make_staff(engine, web_settings)


def partial_request(server, path: str, headers: dict[str, str], first: bytes) -> tuple[socket.socket, bytes]:
    """Send the head of a request announcing a large body, and only the first bytes of the
    body; return the socket and what the server answers without waiting for the rest."""
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    sock = socket.create_connection((host, port), timeout=30)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {BIG}", *(
        f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + first)
    return sock, sock.recv(65536)  # an answer now, though most of the body was never sent


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_the_caller_is_checked_before_the_body_is_read(server, staff):
    cases = [
        ("/api/v1/imports?publication=spacewar-daily", {"Content-Type": "text/csv"}, 401),
        ("/api/v1/imports?publication=spacewar-daily",
         {"Content-Type": "text/csv", "Authorization": f"Bearer {staff.tokens['viewer']}"}, 403),
        ("/api/v1/imports?publication=nope",
         {"Content-Type": "text/csv", "Authorization": f"Bearer {staff.tokens['admin']}"}, 400),
        ("/admin/imports", {"Content-Type": "multipart/form-data; boundary=xyz"}, 303),  # to the sign-in page
    ]
    viewer, _ = sign_in(server, staff.email("viewer"))
    cases.append(("/admin/imports", {"Content-Type": "multipart/form-data; boundary=xyz",
                                     "Cookie": f"nl_staff={viewer.cookies['nl_staff']}"}, 403))
    for path, headers, expected in cases:
        sock, answer = partial_request(server, path, headers, b"--xyz\r\n" if "multipart" in str(headers) else
                                       b"email\n")
        sock.close()
        assert status_of(answer) == expected, (path, headers, answer[:300])


def test_uploads_at_once_are_limited_and_the_file_is_removed(server, staff, web_settings, engine):
    admin = client(server, staff.tokens["admin"])
    # One upload under way (its body not finished) holds the process's one slot...
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    sock = socket.create_connection((host, port), timeout=30)
    body = b"email\nslow@example.org\n"
    sock.sendall((f"POST {IMPORT} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/csv\r\n"
                  f"Authorization: Bearer {staff.tokens['admin']}\r\nContent-Length: {len(body) + 5}\r\n\r\n"
                  ).encode() + body)
    uploads = web_settings.var_dir / "uploads"
    wait_for(lambda: uploads.exists() and any(uploads.iterdir()), 30, what="the upload to reach the disk")
    # ... so another is refused at once, clearly, with when to try again.
    with httpx.Client(base_url=server.url, timeout=30) as plain:  # not waiting for the first request to settle
        refused = plain.post(IMPORT, content=b"email\nx@example.org\n",
                             headers={"Content-Type": "text/csv", "Authorization": f"Bearer {staff.tokens['admin']}"})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
    assert refused.headers["content-type"] == "application/problem+json" and "Too many imports" in refused.text
    sock.sendall(b"a,,\n\n")  # the rest of the first body
    early = sock.recv(65536)
    sock.close()
    assert status_of(early) == 202
    server.settle()  # its job ran after the answer; the slot and the file are free again
    assert not list(uploads.iterdir())
    again = admin.post(IMPORT, content=b"email\nx@example.org\n", headers={"Content-Type": "text/csv"})
    assert again.status_code == 202


def test_a_bad_row_at_the_end_leaves_nothing(server, staff, engine):
    admin = client(server, staff.tokens["admin"])
    rows = "".join(f"reader{i:06d}@example.org,Reader {i}\n" for i in range(30_000))
    answer = admin.post(IMPORT, content=("email,name\n" + rows + "not-an-address,Bad\n").encode(),
                        headers={"Content-Type": "text/csv"})
    job = admin.get(f"/api/v1/imports/{answer.json()['id']}").json()
    assert (job["status"], job["rows"], job["invalid"], job["added"]) == ("invalid", 30_001, 1, 0)
    assert job["errors"] == [{"line": 30_002, "problem": "invalid email address: "
                                                        + job["errors"][0]["problem"].split(": ", 1)[1]}]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 0
