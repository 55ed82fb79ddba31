"""Tokens, sessions and the sign-in throttle against real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.events import AccessEvent
from access.models import ApiToken, WebSession
from access.principals import Role
from access.sessions import SessionStore, csrf_ok
from access.throttle import Limits, SignInThrottle
from access.tokens import TokenService, TokenSpec, holder_label, principal_of
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.database import session_scope
from kernel.errors import InvalidInput, NotFound
from tests.factories import make_vendor


def create(app, spec: TokenSpec):
    with session_scope(app.engine) as session:
        return TokenService(session).create(spec, actor="test")


def authenticate(app, secret: str):
    with session_scope(app.engine) as session:
        return TokenService(session).authenticate(secret)


def test_the_secret_is_stored_only_as_a_hash_and_authenticates(app):
    made = create(app, TokenSpec(Role.DISTRICT, "la", "036"))
    with session_scope(app.engine) as session:
        stored = session.get(ApiToken, made.token.id)
        assert made.secret.split("_", 2)[2] not in stored.secret_sha256
        events = EventLog(session).for_subject(f"token:{made.token.id}")
    assert [e.action for e in events] == [AccessEvent.TOKEN_CREATED]
    assert made.secret not in events[0].payload
    token = authenticate(app, made.secret)
    assert token.id == made.token.id and token.last_used_at is not None
    principal = principal_of(token)
    assert (principal.role, principal.state, principal.district) == (Role.DISTRICT, "LA", "036")


@pytest.mark.parametrize(
    "presented",
    ["", "credx_", "nonsense", "Bearer x", "credx_000000000000_" + "A" * 43, "credx_zz_zz"],
)
def test_wrong_values_do_not_authenticate(app, presented):
    made = create(app, TokenSpec(Role.AUDITOR, "LA"))
    assert authenticate(app, presented) is None
    assert authenticate(app, made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")) is None


def test_expired_and_revoked_tokens_stop_working_and_revocation_ends_sessions(app):
    made = create(app, TokenSpec(Role.AUDITOR, "LA"))
    with session_scope(app.engine) as session:
        opened = SessionStore(session).open(made.token, hours=8)
    with session_scope(app.engine) as session:
        assert SessionStore(session).find(opened.cookie_value) is not None
        TokenService(session).revoke(made.token.id, actor="test")
    assert authenticate(app, made.secret) is None
    with session_scope(app.engine) as session:
        assert SessionStore(session).find(opened.cookie_value) is None
        assert session.get(WebSession, opened.record.id_sha256) is None
    old = create(app, TokenSpec(Role.AUDITOR, "LA"))
    with session_scope(app.engine) as session:
        session.get(ApiToken, old.token.id).expires_at = utcnow() - timedelta(seconds=1)
    assert authenticate(app, old.secret) is None


def test_session_csrf_and_expiry(app):
    made = create(app, TokenSpec(Role.DISTRICT, "LA", "036"))
    with session_scope(app.engine) as session:
        opened = SessionStore(session).open(made.token, hours=8)
    assert csrf_ok(opened.record, opened.record.csrf_secret)
    assert not csrf_ok(opened.record, "") and not csrf_ok(opened.record, "x" * 43)
    with session_scope(app.engine) as session:
        session.get(WebSession, opened.record.id_sha256).expires_at = utcnow()
    with session_scope(app.engine) as session:
        assert SessionStore(session).find(opened.cookie_value) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TokenSpec(Role.DISTRICT, "LA"), "--district is required"),
        (TokenSpec(Role.AUDITOR, "LA", "036"), "--district is required"),
        (TokenSpec(Role.AUDITOR, None), "needs --state"),
        (TokenSpec(Role.AUDITOR, "XX"), "'XX' is not a two-letter USPS state code"),
        (TokenSpec(Role.ADMIN, "LA"), "installation-wide"),
        (TokenSpec(Role.VENDOR, "LA"), "--vendor is required"),
        (TokenSpec(Role.VENDOR, "LA", vendor_id="nobody"), "no vendor 'nobody'"),
        (TokenSpec(Role.DISTRICT, "LA", "../x"), "'../x' is not a district code"),
        (TokenSpec(Role.AUDITOR, "LA", expires_days=0), "--expires-days"),
    ],
)
def test_tokens_must_name_a_tenant_that_fits_the_role(app, spec, message):
    with pytest.raises(InvalidInput, match=message), session_scope(app.engine) as session:
        TokenService(session).create(spec, actor="test")


def test_vendor_tokens_name_a_registered_vendor_and_revoking_unknown_is_not_found(app):
    make_vendor(app, "nccer", agreement=False)
    made = create(app, TokenSpec(Role.VENDOR, "TN", vendor_id="nccer"))
    assert principal_of(made.token).vendor_id == "nccer"
    with pytest.raises(NotFound), session_scope(app.engine) as session:
        TokenService(session).revoke("nope", actor="test")


def test_throttle_counts_failures_per_client_and_token_id_and_per_client(app):
    limits = Limits(max_failures=3, window_seconds=60, address_max_failures=5)
    with session_scope(app.engine) as session:
        throttle = SignInThrottle(session, limits)
        for _ in range(3):
            assert not throttle.pair_wait("10.0.0.1", "abcdefabcdef")
            throttle.record_failure("10.0.0.1", "abcdefabcdef")
        assert 0 < throttle.pair_wait("10.0.0.1", "abcdefabcdef") <= 61
        assert not throttle.pair_wait("10.0.0.2", "abcdefabcdef")  # the holder elsewhere
        assert not throttle.pair_wait("10.0.0.1", "123456123456")
        for client in ("10.0.0.3", "10.0.0.4", "10.0.0.5"):
            throttle.record_failure(client, "abcdefabcdef")
        assert not throttle.pair_wait("10.0.0.6", "abcdefabcdef")  # no lockout of a token id
        assert not throttle.address_wait("10.0.0.1")
        throttle.record_failure("10.0.0.1", "")
        throttle.record_failure("10.0.0.1", "")
        assert throttle.address_wait("10.0.0.1")
        for _ in range(3):
            throttle.record_failure("10.0.0.1", "abcdefabcdef")
        assert 60 < throttle.pair_wait("10.0.0.1", "abcdefabcdef") <= 121  # backoff doubled


def test_pages_name_a_holder_by_name_or_label_never_by_an_agency_identity(app):
    """An agency sign-in's label (`oidc:<issuer>#<sub>`) is an identity key: with no name
    from the sign-in, a page names the role instead (None), as for an unlabelled token."""
    labelled = create(app, TokenSpec(Role.AUDITOR, state="LA", label="Dana Auditor"))
    named = create(app, TokenSpec(Role.AUDITOR, state="LA", label="oidc:https://idp#42",
                                  holder_name="Dana  Broussard"))  # fmt: skip
    nameless = create(app, TokenSpec(Role.AUDITOR, state="LA", label="oidc:https://idp#43"))
    with session_scope(app.engine) as session:
        shown = [holder_label(session, f"token:{new.token.id}")
                 for new in (labelled, named, nameless)]  # fmt: skip
        assert holder_label(session, "token:nosuchtoken") is None
    assert shown == ["Dana Auditor", "Dana Broussard", None]
