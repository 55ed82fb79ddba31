"""Fetching issuer documents for badges: only trusted hosts, https, same-host redirects, caps."""

from __future__ import annotations

import pytest

from exchange.evidence.badges import RefusalReason
from exchange.evidence.badges.fetch import NotTrusted, TrustedFetcher, did_web_url
from kernel.settings import Settings
from tests.exchange.evidence.issuer import (
    Route,
    badge,
    refused,
    settings_for,
    sign_jwt,
    write,
)

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def test_redirect_to_another_host_is_not_followed(issuer, tmp_path):
    issuer.serve(
        "/moved/key", Route(302, b"", headers={"Location": f"http://localhost:{issuer.port}/x"})
    )
    token = sign_jwt(
        badge(issuer.base_url + "/moved"), issuer.ed_jwk, issuer.base_url + "/moved/key"
    )
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.KEY_UNAVAILABLE
    assert "redirects to another host" in str(error)
    assert "/x" not in issuer.requests


def test_oversized_key_document_is_not_read_to_the_end(issuer, tmp_path):
    issuer.serve_json("/huge/key", {"padding": "x" * (2 << 20)})
    token = sign_jwt(badge(issuer.base_url + "/huge"), issuer.ed_jwk, issuer.base_url + "/huge/key")
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.KEY_UNAVAILABLE
    assert "larger than" in str(error)


def test_trusted_prefixes_match_whole_hosts_and_path_segments(tmp_path):
    fetcher = TrustedFetcher(
        settings_for(tmp_path, "https://badges.example.org/issuers/a", "did:web:credly.com")
    )
    assert fetcher.trusts_url("https://badges.example.org/issuers/a/key")
    assert not fetcher.trusts_url("https://badges.example.org/issuers/ab/key")
    assert not fetcher.trusts_url("https://badges.example.org.evil.net/issuers/a/key")
    assert not fetcher.trusts_url("http://badges.example.org/issuers/a/key")
    assert not fetcher.trusts_url("https://user@badges.example.org/issuers/a/key")
    assert fetcher.trusts_did("did:web:credly.com#key-1")
    assert fetcher.trusts_did("did:web:credly.com:issuers:42")
    assert not fetcher.trusts_did("did:web:credly.com.evil.net")


def test_did_web_documents_of_listed_dids_are_fetched_over_https_only(tmp_path):
    fetcher = TrustedFetcher(settings_for(tmp_path, "did:web:credly.com"))
    assert (
        fetcher.did_document_url("did:web:credly.com") == "https://credly.com/.well-known/did.json"
    )
    with pytest.raises(NotTrusted):
        fetcher.did_document_url("did:web:evil.example")
    with pytest.raises(NotTrusted):
        fetcher.get("http://credly.com/.well-known/did.json", via_did="did:web:credly.com")


def test_did_web_urls_follow_the_did_web_method():
    assert did_web_url("did:web:example.org#k") == "https://example.org/.well-known/did.json"
    assert (
        did_web_url("did:web:example.org%3A8443:issuers:7")
        == "https://example.org:8443/issuers/7/did.json"
    )


def test_plain_http_issuers_off_this_machine_are_refused_in_settings(tmp_path):
    with pytest.raises(ValueError, match="https"):
        settings_for(tmp_path, "http://badges.example.org")
    with pytest.raises(ValueError, match="https"):
        settings_for(tmp_path, "http://127.0.0.1.evil.net")


def test_trusted_issuers_read_from_a_comma_separated_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "CREDX_BADGE_TRUSTED_ISSUERS", "did:web:credly.com, https://badges.example.org/"
    )
    assert Settings(home=tmp_path).badge_trusted_issuers == [
        "did:web:credly.com",
        "https://badges.example.org/",
    ]
