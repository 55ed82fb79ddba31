"""Bearer tokens, sign-in, sessions, CSRF, throttling and the error shape, over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from access.events import AccessEvent
from access.models import ApiToken
from eventlog.models import Event
from eventlog.tags import EventTag
from kernel.clock import utcnow
from kernel.database import session_scope
from tests.web.factories import bearer, make_token
from web.app import create_app


def events(app, action: EventTag) -> list[Event]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)))


def test_healthz_and_security_headers_on_every_response(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    for path in ("/healthz", "/sign-in", "/api/v1/evidence", "/nowhere"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_errors_are_json_with_code_message_field(client, app):
    missing = client.get("/api/v1/evidence")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    assert client.delete("/healthz").json()["error"]["code"] == "method_not_allowed"
    operator = make_token(app, "operator", "LA")
    invalid = client.get("/api/v1/deliveries?limit=0", headers=bearer(operator))
    assert invalid.status_code == 422
    assert invalid.json()["error"] == {
        "code": "invalid_input",
        "message": invalid.json()["error"]["message"],
        "field": "limit",
    }


def test_expired_and_revoked_tokens_get_401(client, app):
    secret = make_token(app, "operator", "LA")
    assert client.get("/api/v1/deliveries", headers=bearer(secret)).status_code == 200
    token_id = secret.split("_")[1]
    with session_scope(app.engine) as session:
        session.get(ApiToken, token_id).expires_at = utcnow() - timedelta(minutes=1)
    assert client.get("/api/v1/deliveries", headers=bearer(secret)).status_code == 401
    other = make_token(app, "operator", "LA")
    with session_scope(app.engine) as session:
        session.get(ApiToken, other.split("_")[1]).revoked_at = utcnow()
    assert client.get("/api/v1/deliveries", headers=bearer(other)).status_code == 401


def test_failed_sign_ins_are_rate_limited_and_logged(app):
    app.settings.sign_in_max_failures = 3
    good = make_token(app, "operator", "LA")
    wrong = good[: -6] + "AAAAAA"  # the right token id, a wrong secret
    with TestClient(create_app(app)) as client:
        for _ in range(3):
            assert client.get("/api/v1/deliveries", headers=bearer(wrong)).status_code == 401
        blocked = client.get("/api/v1/deliveries", headers=bearer(good))
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= app.settings.sign_in_window_seconds + 1
    failed = events(app, AccessEvent.SIGN_IN_FAILED)
    assert len(failed) == 3 and all(wrong not in e.payload for e in failed)


def sign_in_form(client) -> str:
    page = client.get("/sign-in")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_sign_in_sets_a_strict_http_only_session_cookie_and_sign_out_needs_csrf(client, app):
    secret = make_token(app, "district", "LA", "036")
    csrf = sign_in_form(client)
    response = client.post("/sign-in", data={"token": secret, "csrf_token": csrf},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie"
                  and v.startswith("credx_session="))  # fmt: skip
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert len(events(app, AccessEvent.SIGN_IN_SUCCEEDED)) == 1
    home = client.get("/")
    assert home.status_code == 200 and "My uploads" in home.text
    session_csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    refused = client.post("/sign-out", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    out = client.post("/sign-out", data={"csrf_token": session_csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_session_cookie_is_secure_over_tls(app):
    secret = make_token(app, "auditor", "LA")
    with TestClient(create_app(app), base_url="https://credx.example") as client:
        csrf = sign_in_form(client)
        response = client.post("/sign-in", data={"token": secret, "csrf_token": csrf},
                               follow_redirects=False)  # fmt: skip
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie"
                  and v.startswith("credx_session="))  # fmt: skip
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_sign_in_refuses_a_forged_form_and_a_wrong_token(client, app):
    secret = make_token(app, "auditor", "LA")
    sign_in_form(client)
    forged = client.post("/sign-in", data={"token": secret, "csrf_token": "forged"})
    assert forged.status_code == 403 and "credx_session" not in forged.cookies
    csrf = sign_in_form(client)
    wrong = client.post("/sign-in", data={"token": secret[:-2] + "zz", "csrf_token": csrf})
    assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.text
    assert len(events(app, AccessEvent.SIGN_IN_FAILED)) == 1
