"""Serving the app with uvicorn, so that even uvicorn's own answers carry our headers.

uvicorn answers a request it cannot parse with its own 400, before the app sees it;
this protocol subclass adds the security headers to that answer as well.
"""
from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from newsletter.web.middleware import SECURITY_HEADERS


class SecureHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = msg.encode("ascii")
        lines = [STATUS_LINE[400]]
        for name, value in [*self.server_state.default_headers,
                            *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())]:
            lines.extend([name, b": ", value, b"\r\n"])
        lines.extend([b"content-type: text/plain; charset=utf-8\r\n",
                      b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                      b"connection: close\r\n\r\n", body])
        self.transport.write(b"".join(lines))
        self.transport.close()


def config(app, host: str = "127.0.0.1", port: int = 8000, **options) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=SecureHttpToolsProtocol, **options)
