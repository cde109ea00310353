"""Serving the app with uvicorn, so that even uvicorn's own answers carry our headers,
and the client is whom NEWSLETTER_TRUSTED_PROXIES says.

uvicorn answers a request it cannot parse with its own 400, before the app sees it;
this protocol subclass adds the security headers to that answer as well.

uvicorn believes X-Forwarded-For from 127.0.0.1 by default (or FORWARDED_ALLOW_IPS):
any request that reaches us through a local proxy passing the header on could name a
new client each time and escape every per-client limit. Here proxy headers are read
only from the proxies the setting names, and not at all without it.
"""
from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from newsletter.http_common import SECURITY_HEADERS


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
    trusted = app.state.web.settings.trusted_proxies
    options.pop("proxy_headers", None)  # the setting decides, nothing else
    options.pop("forwarded_allow_ips", None)
    return uvicorn.Config(app, host=host, port=port, http=SecureHttpToolsProtocol, proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or "", **options)
