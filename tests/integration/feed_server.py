"""A feed served over HTTP on loopback (http.server in a thread), for the polling tests,
`newsletter run` and the operator's journey: it changes, answers conditional requests
with 304, fails with 500, hangs past a timeout, and redirects (to itself, and to
internal addresses); and pages of HTML (`pages`)."""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import rss


class FeedServer:
    """Routes: /feed (the feed; ETag and Last-Modified, 304 when unchanged, or 500 or a
    hang, as `mode` says), /moved (302 to /feed), /to-metadata and /to-loopback (302 to
    internal addresses)."""

    def __init__(self, now: datetime):
        self.now = now  # the items are published an hour, two hours, ... before it
        self.items = [self.item(1), self.item(2)]
        self.mode = "ok"
        self.pages: dict[str, str] = {}  # path -> HTML
        self.requests: list[tuple[str, dict]] = []
        self.release = threading.Event()  # lets a hanging answer go when the test ends
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append((self.path, dict(self.headers)))
                redirects = {"/moved": "/feed", "/to-metadata": "http://169.254.169.254/latest/meta-data/",
                             "/to-loopback": f"http://127.0.0.2:{owner.port}/feed",
                             "/to-other-port": "http://127.0.0.1:5432/", "/to-missing": "/missing?key=secret"}
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.end_headers()
                    return
                if self.path.startswith("/missing"):
                    self.send_error(404, "Not Found")
                    return
                if self.path in owner.pages:  # an article's page (an editor adds one by its URL)
                    body = owner.pages[self.path].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if owner.mode == "500":
                    self.send_error(500, "Internal Server Error")
                    return
                if owner.mode == "hang":
                    owner.release.wait(30)
                    return
                body = rss(owner.items)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Thu, 26 Nov 2026 08:00:00 GMT")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def item(self, n: int) -> dict:
        return {"title": f"Wire story {n}", "link": f"https://www.spacewar.example.com/wire/{n}.html",
                "category": "SUPERPOWERS", "description": "Teaser.", "date": self.now - timedelta(hours=n)}

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
