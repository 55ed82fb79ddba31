"""HSTS only over TLS: uvicorn's own, or a proxy's X-Forwarded-Proto that credx trusts."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.live import credx_serve
from web.app import create_app
from web.headers import HSTS

HEADER = "strict-transport-security"
# The header is about transport, not data: one backend is enough.
one_backend = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@one_backend
def test_hsts_is_sent_over_https_and_never_over_plain_http(app):
    api = create_app(app)
    with TestClient(api, base_url="https://testserver") as tls:
        assert tls.get("/sign-in").headers.get_list(HEADER) == [HSTS]
        assert tls.get("/api/v1/evidence").headers[HEADER] == HSTS  # errors too (a 401)
    with TestClient(api, base_url="http://testserver") as plain:
        assert HEADER not in plain.get("/sign-in").headers
        forged = plain.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
        assert HEADER not in forged.headers
    assert HSTS == "max-age=63072000; includeSubDomains"


@pytest.mark.slow
@one_backend
def test_behind_a_proxy_only_a_trusted_forwarded_proto_turns_hsts_on(app, cli_env):
    says_https = {"X-Forwarded-Proto": "https"}
    with credx_serve(cli_env, "--behind-proxy") as (base, _process):
        assert httpx.get(f"{base}/healthz", headers=says_https).headers[HEADER] == HSTS
        assert HEADER not in httpx.get(f"{base}/healthz").headers
    with credx_serve(cli_env) as (base, _process):  # no proxy: the header is never believed
        assert HEADER not in httpx.get(f"{base}/healthz", headers=says_https).headers
