"""Who is calling: bearer tokens for the API, session cookies for the pages.

Each check runs in a short transaction of its own, so a refused attempt is
recorded (throttle row, event) even though the request itself fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from access.events import AccessEvent
from access.models import ApiToken, WebSession
from access.principals import Principal
from access.sessions import SessionStore
from access.throttle import Limits, SignInThrottle
from access.tokens import TokenService, principal_of, token_prefix
from eventlog.log import EventLog
from eventlog.tags import EventTag
from exchange.resources import Resources
from web.db import web_session
from web.errors import ApiError
from web.names import signed_in_as

SESSION_COOKIE = "credx_session"


def credx_app(request: Request) -> Resources:
    return request.app.state.credx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limits(app: Resources) -> Limits:
    settings = app.settings
    return Limits(settings.sign_in_max_failures, settings.sign_in_window_seconds,
                  settings.sign_in_address_max_failures)  # fmt: skip


def sign_in(app: Resources, presented: str, client: str, *, web: bool) -> ApiToken:
    """The token for a presented secret, or ApiError 401/429; every failure is counted.

    `access.throttle` says why: this address guessing this token id is refused before the
    secret is checked; an address that failed often is refused only for wrong secrets.
    """
    prefix = token_prefix(presented)
    with web_session(app) as session:
        throttle = SignInThrottle(session, _limits(app))
        wait = throttle.pair_wait(client, prefix)
        if wait:
            raise _too_many(wait)
        token = TokenService(session).authenticate(presented)
        if token is None:
            wait = throttle.address_wait(client)
            throttle.record_failure(client, prefix)
            _record(session, AccessEvent.SIGN_IN_FAILED, prefix, client, web)
        elif web:
            _record(session, AccessEvent.SIGN_IN_SUCCEEDED, prefix, client, web)
    if token is None:
        if wait:
            raise _too_many(wait)
        raise ApiError(401, "the token is unknown, expired or revoked",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return token


def _too_many(wait: int) -> ApiError:
    return ApiError(429, "too many failed sign-ins; wait and try again",
                    headers={"Retry-After": str(wait)})  # fmt: skip


def _record(session: Session, action: EventTag, prefix: str, client: str, web: bool) -> None:
    subject = f"token:{prefix}" if prefix else "token:malformed"
    EventLog(session).record(action, subject, f"client:{client}", via="web" if web else "api")


def bearer_principal(request: Request) -> Principal:
    """FastAPI dependency for the API (sync: it runs in the threadpool)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "send `Authorization: Bearer <token>` with a token from an operator",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    token = sign_in(credx_app(request), value, client_address(request), web=False)
    return principal_of(token)


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    session: WebSession
    cookie: str
    signed_in_as: str  # the header's words (`web.names.signed_in_as`)

    @property
    def csrf(self) -> str:
        return self.session.csrf_secret


def web_user(request: Request) -> WebUser | None:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie:
        return None
    with web_session(credx_app(request)) as session:
        found = SessionStore(session).find(cookie)
        if found is None:
            return None
        record, token = found
        principal = principal_of(token)
        return WebUser(principal, record, cookie, signed_in_as(session, token.id, principal))


AppDep = Annotated[Resources, Depends(credx_app)]
Caller = Annotated[Principal, Depends(bearer_principal)]
