"""`/sign-in/oidc`: sign in with the state's identity provider (authorization code + PKCE).

The page's "Sign in with your agency" button starts here.  credx keeps the
request's state, nonce and PKCE verifier in `oidc_logins` (used once), sends
the browser to the provider, and on the callback exchanges the code (authlib,
client secret over TLS), verifies the ID token's signature against the
provider's published keys and its `iss`, `aud`, `exp`, `iat` and `nonce`
(joserfc), maps its claims to a role (`access.federation`), and opens an
ordinary web session.  Sign-out ends the session and, where the provider
publishes an `end_session_endpoint`, sends the browser there too
(RP-initiated logout), so the agency's session ends as well.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError

from access.federation import (
    FederatedUser,
    NoRole,
    SignInRefused,
    begin_login,
    record_refusal,
    take_login,
    token_for,
)
from access.sessions import SessionStore
from exchange.resources import Resources
from web.agency import ID_TOKEN_COOKIE, Provider, provider_of
from web.auth import SESSION_COOKIE, AppDep, client_address
from web.db import web_session
from web.pages import _secure, render

with warnings.catch_warnings():  # authlib 1.9 suggests httpx2; credx pins httpx (<1), tested
    import authlib.deprecate  # noqa: F401  (its import puts an "always" filter first)

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

router = APIRouter(include_in_schema=False)
log = logging.getLogger("credx.web")
LEEWAY_SECONDS = 60  # clock skew allowed between credx and the provider
clock = time.time  # the ID token's `exp` and `iat` are read against it (tests move it)
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


def callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def client_of(provider: Provider, request: Request) -> OAuth2Client:
    return OAuth2Client(provider.client_id, provider.client_secret, scope=provider.scopes,
                        redirect_uri=callback_url(request), code_challenge_method="S256",
                        token_endpoint_auth_method="client_secret_basic")  # noqa: S106


@router.get("/sign-in/oidc")
def oidc_start(request: Request, app: AppDep) -> Response:
    provider = provider_of(request)
    if provider is None:
        return render(request, "error.html", 404, user=None,
                      error="Sign-in with an agency account is not set up here.")  # fmt: skip
    with web_session(app) as session:
        login = begin_login(session)
    url, _ = client_of(provider, request).create_authorization_url(
        provider.discovered()["authorization_endpoint"], state=login.state, nonce=login.nonce,
        code_verifier=login.code_verifier,
    )  # fmt: skip
    return RedirectResponse(url, status_code=303)


@router.get("/sign-in/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, app: AppDep, state: str = "", code: str = "",
                  error: str = "") -> Response:  # fmt: skip
    provider = provider_of(request)
    if provider is None:
        return render(request, "error.html", 404, user=None, error="No agency sign-in here.")
    try:
        return _finish(request, app, provider, state[:100], code[:2000], error[:100])
    except SignInRefused as exc:
        with web_session(app) as session:
            record_refusal(session, "oidc", client_address(request), exc.code)
        return render(request, "sign_in.html", exc.http_status, csrf="", user=None,
                      error=str(exc), oidc=True)  # fmt: skip


def _finish(request: Request, app: Resources, provider: Provider, state: str, code: str,
            error: str) -> Response:  # fmt: skip
    with web_session(app) as session:
        login = take_login(session, state)
        nonce, verifier = login.nonce, login.code_verifier
    if error or not code:
        raise SignInRefused(f"the identity provider did not sign you in ({error or 'no code'})")
    try:
        tokens = client_of(provider, request).fetch_token(
            provider.discovered()["token_endpoint"], code=code, code_verifier=verifier,
            grant_type="authorization_code",
        )  # fmt: skip
    except Exception as exc:  # the provider refused the code: say so, log the class only
        log.warning("OIDC token exchange failed: %s", type(exc).__name__)
        raise SignInRefused("the identity provider refused the sign-in; try again") from None
    id_token = str(tokens.get("id_token") or "")
    claims = verify_id_token(provider, id_token, nonce)
    user = FederatedUser(provider.issuer, str(claims["sub"]), claims.get("email"),
                         claims.get("name"))  # fmt: skip
    rule = provider.mapping.grant_for(claims)
    with web_session(app) as session:
        if rule is None:
            record_refusal(session, user.label, client_address(request), "no_role")
            raise NoRole("your agency account is in no group that has a credx role; ask your "
                         "state's credx administrator")  # fmt: skip
        token = token_for(session, user, rule, hours=app.settings.web_session_hours)
        opened = SessionStore(session).open(token, hours=app.settings.web_session_hours)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, opened.cookie_value, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")  # fmt: skip
    response.set_cookie(ID_TOKEN_COOKIE, id_token, httponly=True, samesite="strict",
                        secure=_secure(request), path="/sign-out")  # fmt: skip
    return response


def verify_id_token(provider: Provider, id_token: str, nonce: str,
                    now: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The ID token's claims if its signature, issuer, audience, times and nonce hold."""
    try:
        token = jwt.decode(id_token, provider.keys(), algorithms=ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            now=int(now if now is not None else clock()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )  # fmt: skip
        registry.validate(token.claims)
    except (JoseError, ValueError) as exc:
        why = getattr(exc, "description", "") or type(exc).__name__  # e.g. "Invalid claim: 'aud'"
        raise SignInRefused(f"the identity provider's ID token was refused ({why})") from None
    return dict(token.claims)
