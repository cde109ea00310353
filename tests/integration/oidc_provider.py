"""A small OpenID Connect provider the tests run on loopback: discovery, authorize (the
person is chosen by the test, and approved at once), token, JWKS. It checks what a real
provider checks of its clients: a registered redirect URI, PKCE with S256 (the verifier
must hash to the challenge), a nonce and a state, the client's secret (HTTP Basic),
single-use codes; and it signs RS256 ID tokens carrying the nonce and at_hash.

`tamper` makes it misbehave on purpose, to show the client refuses: "state" (answers with
another state), "nonce" (another nonce in the ID token), "audience" (a token for another
client), "signature" (signed by another key), "issuer".
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID, CLIENT_SECRET = "newsletter-console", "s3cret-of-the-console-client"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    def __init__(self, redirect_uri: str = ""):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.redirect_uri = redirect_uri  # set once the app's URL is known
        self.person = {"sub": "u-1001", "email": "sso.editor@staff.example.org", "email_verified": True,
                       "groups": ["space-desk"]}
        self.tamper = ""
        self.codes: dict[str, dict] = {}
        self.seen: list[dict] = []  # the authorize requests, as received
        self.refusals: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    return self._json(200, provider.metadata())
                if parts.path == "/jwks":
                    return self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                if parts.path == "/authorize":
                    return provider.authorize(self, {k: v[0] for k, v in parse_qs(parts.query).items()})
                self.send_error(404)

            def do_POST(self):
                if urlsplit(self.path).path != "/token":
                    return self.send_error(404)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = provider.token(self.headers.get("Authorization", ""), form)
                self._json(status, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Provider:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def metadata(self) -> dict:
        return {"issuer": self.url, "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token", "jwks_uri": self.url + "/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"]}

    def _refuse(self, handler, why: str) -> None:
        self.refusals.append(why)
        handler.send_response(400)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        handler.wfile.write(why.encode())

    def authorize(self, handler, q: dict) -> None:
        self.seen.append(q)
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") != self.redirect_uri:
            return self._refuse(handler, "unknown client or redirect URI")
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return self._refuse(handler, "an OpenID code request is expected")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) < 43:
            return self._refuse(handler, "PKCE with S256 is required")
        if not q.get("state") or not q.get("nonce"):
            return self._refuse(handler, "state and nonce are required")
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "person": dict(self.person),
                            "redirect_uri": q["redirect_uri"]}
        state = "not-the-state" if self.tamper == "state" else q["state"]
        handler.send_response(302)
        handler.send_header("Location", f"{q['redirect_uri']}?{urlencode({'code': code, 'state': state})}")
        handler.end_headers()

    def token(self, authorization: str, form: dict) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            self.refusals.append("client authentication")
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("grant_type") != "authorization_code":
            self.refusals.append("unknown or used code")
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            self.refusals.append("redirect URI differs")
            return 400, {"error": "invalid_grant"}
        if _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) != grant["challenge"]:
            self.refusals.append("PKCE verifier does not match")
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {"iss": self.url + ("/other" if self.tamper == "issuer" else ""),
                  "aud": "someone-else" if self.tamper == "audience" else CLIENT_ID,
                  "iat": now, "exp": now + 300, "nonce": "another-nonce" if self.tamper == "nonce" else grant["nonce"],
                  "at_hash": _b64(hashlib.sha256(access.encode()).digest()[:16]), **grant["person"]}
        key = self.other_key if self.tamper == "signature" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
