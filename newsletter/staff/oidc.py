"""OpenID Connect, the protocol side of single sign-on (staff/sso.py decides who gets in).

Authlib does the protocol: the authorization URL with PKCE (S256), the code exchange
with the client's secret and the code verifier, the state check of the answer, and the
ID token: its signature against the provider's published keys (JWKS), issuer, audience,
expiry, nonce and at_hash (its CodeIDToken claims). Chosen over our own code because
every one of those checks is a classic way to get single sign-on wrong, and Authlib's
are maintained against the specifications; over a framework integration because ours
keeps its state in a signed cookie of its own, not in a server session.

The provider is found from its issuer URL (/.well-known/openid-configuration, read once
per process and checked to name the same issuer). HTTP goes through requests (Authlib's
OAuth2Session is built on it, and premailer already brings it in).
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from newsletter.config import Settings
from newsletter.staff.access import NotSignedIn

TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference with the provider


class SsoFailed(NotSignedIn):
    title = "Single sign-on failed"


@dataclass(frozen=True)
class Flow:
    """What the browser keeps (signed) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str


_metadata: dict[str, dict] = {}
_lock = threading.Lock()


def metadata(settings: Settings, refresh: bool = False) -> dict:
    issuer = settings.sso_issuer.rstrip("/")
    with _lock:
        if issuer in _metadata and not refresh:
            return _metadata[issuer]
    try:
        answer = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT)
        answer.raise_for_status()
        found = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoFailed(f"the sign-on provider cannot be reached ({type(exc).__name__})") from None
    if not isinstance(found, dict) or str(found.get("issuer", "")).rstrip("/") != issuer:
        raise SsoFailed("the sign-on provider's configuration names another issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(found.get(key), str):
            raise SsoFailed(f"the sign-on provider's configuration has no {key}")
    with _lock:
        _metadata[issuer] = found
    return found


def _client(settings: Settings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(client_id=settings.sso_client_id, client_secret=settings.sso_client_secret,
                         scope=settings.sso_scopes, redirect_uri=redirect_uri, code_challenge_method="S256")


def begin(settings: Settings, redirect_uri: str) -> tuple[str, Flow]:
    """The provider's URL to send the browser to, and what to keep until it comes back."""
    flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(metadata(settings)["authorization_endpoint"], state=flow.state,
                                                 code_verifier=flow.verifier, nonce=flow.nonce)
    return url, flow


def finish(settings: Settings, redirect_uri: str, callback_url: str, flow: Flow) -> dict:
    """The ID token's claims, every check passed; SsoFailed otherwise."""
    found = metadata(settings)
    try:
        with _client(settings, redirect_uri) as client:
            token = client.fetch_token(found["token_endpoint"], authorization_response=callback_url,
                                       state=flow.state, code_verifier=flow.verifier, timeout=TIMEOUT)
            if "id_token" not in token:
                raise SsoFailed("the sign-on provider sent no ID token")
            keys = requests.get(found["jwks_uri"], timeout=TIMEOUT)
            keys.raise_for_status()
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(keys.json()),
                                 registry=JWSRegistry(algorithms=found.get("id_token_signing_alg_values_supported")))
        claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [found["issuer"]]}},
                             {"nonce": flow.nonce, "client_id": settings.sso_client_id,
                              "access_token": token.get("access_token")})
        claims.validate(leeway=LEEWAY)
    except SsoFailed:
        raise
    except (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise SsoFailed(f"the sign-on answer was refused ({_why(exc)})") from None
    return dict(claims)


def _why(exc: Exception) -> str:
    text = getattr(exc, "description", "") or getattr(exc, "error", "") or str(exc)
    return f"{type(exc).__name__}: {str(text)[:160]}" if text else type(exc).__name__
