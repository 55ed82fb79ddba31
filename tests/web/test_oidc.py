"""Sign-in with the state's identity provider, against a real certified OpenID provider
(npm `oidc-provider`) on loopback: the journeys of people, and the tokens that must fail."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from access.federation import SignInRefused
from access.models import ApiToken, WebSession
from access.tokens import holder_label
from credx.app import App
from eventlog.models import Event
from kernel.database import session_scope
from kernel.errors import InvalidInput
from tests.web.oidc_provider import CLIENTS, OidcProvider, query_of, running_provider
from web import oidc
from web.app import create_app
from web.auth import SESSION_COOKIE

MAPPING = """\
claim: groups
rules:
  - value: g-la-036-coordinators
    role: district
    state: LA
    district: "036"
  - value: g-la-037-coordinators
    role: district
    state: LA
    district: "037"
  - value: g-la-auditors
    role: auditor
    state: LA
"""
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[OidcProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture
def agency_app(settings, provider, tmp_path) -> Iterator[App]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    configured = settings.model_copy(update={
        "oidc_issuer": provider.issuer, "oidc_client_id": "credx",
        "oidc_client_secret": SecretStr(CLIENTS[0]["client_secret"]),
        "oidc_mapping_file": mapping})  # fmt: skip
    application = App(configured)
    application.keyring.ensure()
    yield application
    application.engine.dispose()


def sign_in(client: TestClient, provider: OidcProvider, sub: str):
    """The whole journey: the button, the provider's login page, back to credx."""
    start = client.get("/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    back = provider.sign_in_at(start.headers["location"], sub)
    return client.get(query_of(back), follow_redirects=False), back


def grant_of(app: App, cookie: str) -> ApiToken | None:
    from access.sessions import SessionStore

    with session_scope(app.engine) as session:
        found = SessionStore(session).find(cookie)
    return found[1] if found else None


@on_sqlite
def test_a_coordinator_signs_in_with_the_agency_and_gets_the_mapped_district(
    agency_app, provider
):
    provider.set_account("alice", email="alice@d036.example", name="Alice Fontenot",
                         groups=["g-la-036-coordinators"])  # fmt: skip
    client = TestClient(create_app(agency_app))
    assert "Sign in with your agency" in client.get("/sign-in").text
    answer, _ = sign_in(client, provider, "alice")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    token = grant_of(agency_app, client.cookies[SESSION_COOKIE])
    assert (token.role, token.state, token.district) == ("district", "LA", "036")
    assert token.label == f"oidc:{provider.issuer}#alice"
    with session_scope(agency_app.engine) as session:  # pages name the person, never the label
        assert holder_label(session, f"token:{token.id}") == "Alice Fontenot"
    assert client.get("/", follow_redirects=False).status_code == 200


@on_sqlite
def test_a_replayed_callback_is_refused_and_opens_no_session(agency_app, provider):
    provider.set_account("alice", groups=["g-la-036-coordinators"])
    client = TestClient(create_app(agency_app))
    first, back = sign_in(client, provider, "alice")
    assert first.status_code == 303
    replay = TestClient(create_app(agency_app))
    again = replay.get(query_of(back), follow_redirects=False)
    assert again.status_code == 401 and "already used" in again.text
    assert SESSION_COOKIE not in replay.cookies
    with session_scope(agency_app.engine) as session:
        assert len(session.exec(select(WebSession)).all()) == 1


@on_sqlite
def test_a_person_in_no_mapped_group_is_refused_and_the_refusal_logged(agency_app, provider):
    provider.set_account("bob", groups=["g-la-cafeteria"])
    client = TestClient(create_app(agency_app))
    answer, _ = sign_in(client, provider, "bob")
    assert answer.status_code == 403 and "no group that has a credx role" in answer.text
    assert SESSION_COOKIE not in client.cookies
    with session_scope(agency_app.engine) as session:
        failed = session.exec(select(Event).where(Event.action == "access:sign_in:failed")).all()
        assert any("no_role" in event.payload for event in failed)
        assert session.exec(select(ApiToken)).all() == []


@on_sqlite
def test_a_person_moved_to_another_district_gets_the_new_one_and_loses_the_old(
    agency_app, provider
):
    provider.set_account("carol", groups=["g-la-036-coordinators"])
    before = TestClient(create_app(agency_app))
    sign_in(before, provider, "carol")
    old_cookie = before.cookies[SESSION_COOKIE]
    provider.set_account("carol", groups=["g-la-037-coordinators"])  # the agency moves her
    after = TestClient(create_app(agency_app))
    sign_in(after, provider, "carol")
    assert grant_of(agency_app, after.cookies[SESSION_COOKIE]).district == "037"
    assert grant_of(agency_app, old_cookie) is None  # the 036 grant ended with it
    assert before.get("/", follow_redirects=False).status_code == 303


@on_sqlite
def test_an_expired_id_token_is_refused(agency_app, provider, monkeypatch):
    provider.set_account("alice", groups=["g-la-036-coordinators"])
    client = TestClient(create_app(agency_app))
    later = time.time() + 3 * 3600  # the token arrives after it has expired (1 h lifetime)
    monkeypatch.setattr(oidc, "clock", lambda: later)
    answer, _ = sign_in(client, provider, "alice")
    assert answer.status_code == 401
    assert "ID token was refused (The token is expired)" in answer.text
    assert SESSION_COOKIE not in client.cookies


def token_for_client(provider: OidcProvider, client_spec: dict, sub: str, nonce: str) -> str:
    """An ID token the real provider issues to `client_spec` (a full code flow)."""
    metadata = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    client = OAuth2Client(client_spec["client_id"], client_spec["client_secret"],
                          scope="openid groups", redirect_uri=client_spec["redirect_uris"][0],
                          code_challenge_method="S256")  # fmt: skip
    verifier = secrets.token_urlsafe(64)
    url, _ = client.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce,
                                             code_verifier=verifier)  # fmt: skip
    back = provider.sign_in_at(url, sub, stop_at=client_spec["redirect_uris"][0])
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
    return tokens["id_token"]


@on_sqlite
def test_an_id_token_for_another_audience_or_nonce_is_refused(agency_app, provider):
    provider.set_account("alice", groups=["g-la-036-coordinators"])
    api = create_app(agency_app)
    credx_provider = api.state.oidc
    foreign = token_for_client(provider, CLIENTS[1], "alice", nonce="n-1")
    with pytest.raises(SignInRefused, match="aud"):
        oidc.verify_id_token(credx_provider, foreign, "n-1")
    own = token_for_client(provider, CLIENTS[0], "alice", nonce="n-2")
    assert oidc.verify_id_token(credx_provider, own, "n-2")["sub"] == "alice"
    with pytest.raises(SignInRefused, match="nonce"):
        oidc.verify_id_token(credx_provider, own, "n-replayed")


@on_sqlite
def test_sign_out_ends_the_session_and_the_agency_session(agency_app, provider):
    provider.set_account("alice", groups=["g-la-036-coordinators"])
    client = TestClient(create_app(agency_app))
    sign_in(client, provider, "alice")
    page = client.get("/").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookie = client.cookies[SESSION_COOKIE]
    out = client.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    location = out.headers["location"]
    assert location.startswith(f"{provider.issuer}/session/end?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["credx"] and query["id_token_hint"][0].count(".") == 2
    assert grant_of(agency_app, cookie) is None
    ended = httpx.get(location)  # the provider accepts the hint and asks to confirm logout
    assert ended.status_code == 200 and "logout" in ended.text.lower()


@on_sqlite
def test_a_bad_mapping_document_stops_the_start(settings, provider, tmp_path):
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("claim: groups\nrules:\n  - value: g1\n    role: district\n    state: LA\n")
    configured = settings.model_copy(update={
        "oidc_issuer": provider.issuer, "oidc_client_id": "credx",
        "oidc_client_secret": SecretStr("x"), "oidc_mapping_file": mapping})  # fmt: skip
    with pytest.raises(InvalidInput, match="district is required"):
        create_app(App(configured))
