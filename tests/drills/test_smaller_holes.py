"""Item 11 of issue 15, the smaller holes: a path-scoped badge issuer escaped with `..` or a
same-host redirect, `/metrics` for any 127.x or forwarded caller, another state's delivery
reason page or API record, one person confirming their own discrepancy with a second auditor token.
(The compose proxy addresses and the CLI's markup are drilled beside the throttle and in
`test_cli_errors`.)"""

from __future__ import annotations

from contextlib import suppress

import pytest
from fastapi.testclient import TestClient

from access.principals import Role
from access.tokens import TokenService, TokenSpec
from exchange.deliveries import ingest_file
from exchange.evidence.badges.fetch import FetchError, NotTrusted, TrustedFetcher
from kernel.database import session_scope
from kernel.settings import Settings
from tests.audit.plans.auditing import drawn_tasks
from tests.exchange.evidence.issuer import running_issuer
from tests.factories import blanket_terms, csv_text, exam_row, write_file
from tests.web.factories import bearer, make_token, sign_in
from web.app import create_app

NEXT = "/api/v1/audit/tasks/next"


@pytest.fixture(scope="module")
def issuer():
    with running_issuer() as running:
        yield running


def test_a_path_scoped_issuer_cannot_be_escaped_with_dot_segments(issuer, tmp_path):
    """Before: `<trusted>/../evil/key` passed the raw-path check; httpx sent `/evil/key`."""
    issuer.serve_json("/evil/key", {"kty": "OKP"})
    fetcher = TrustedFetcher(Settings(home=tmp_path, badge_trusted_issuers=[
        f"{issuer.base_url}/trusted"]))  # fmt: skip
    for sneaky in ("/trusted/../evil/key", "/trusted/%2e%2e/evil/key", "/trusted/./../evil/key"):
        with pytest.raises(NotTrusted):
            fetcher.get(issuer.base_url + sneaky)
    assert "/evil/key" not in issuer.requests


def test_a_same_host_redirect_out_of_the_trusted_path_is_not_followed(issuer, tmp_path):
    """Before: same-origin redirects were followed without the path check."""
    from tests.exchange.evidence.issuer import Route

    issuer.serve("/trusted/moved", Route(302, b"", headers={"Location": "/private/key"}))
    issuer.serve_json("/private/key", {"kty": "OKP"})
    fetcher = TrustedFetcher(Settings(home=tmp_path, badge_trusted_issuers=[
        f"{issuer.base_url}/trusted"]))  # fmt: skip
    with pytest.raises((NotTrusted, FetchError)):
        fetcher.get(issuer.base_url + "/trusted/moved")
    assert "/private/key" not in issuer.requests


@pytest.mark.parametrize(
    ("address", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("127.0.0.2", {}, False),
        ("127.8.9.10", {}, False),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.5"}, False),
    ],
)
def test_metrics_answer_only_this_machine_unforwarded(app, address, headers, allowed):
    """Before: any 127.x address (or a request the proxy forwarded from one) was let in."""
    with TestClient(create_app(app), client=(address, 5000)) as client:
        status = client.get("/metrics", headers=headers).status_code
    assert (status == 200) is allowed


def one_state_delivery(app, tmp_path, vendor: str, state: str) -> int:
    """A delivery from a vendor whose only agreement covers `state`."""
    from agreements.store import store_terms
    from agreements.vendors import add_vendor
    from schemas.credentials import known_codes

    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id=vendor, name=f"{state} only")
        terms = blanket_terms(vendor, codes=sorted(known_codes(session)), states=(state,))
        store_terms(session, terms, document=f"{state} agreement", actor="test")
    path = write_file(tmp_path, "r.csv", csv_text([exam_row(1)]))
    return ingest_file(app, path, vendor, actor="test", original_name="r.csv").delivery_id


def test_an_operator_cannot_open_another_states_delivery_reasons(app, tmp_path):
    """Before: a TN operator opened the reason page of a delivery only LA's vendor sent."""
    delivery = one_state_delivery(app, tmp_path, "laonly", "LA")
    with TestClient(create_app(app)) as tn, TestClient(create_app(app)) as la:
        sign_in(tn, make_token(app, "operator", "TN"))
        sign_in(la, make_token(app, "operator", "LA"))
        foreign = tn.get(f"/dashboard/deliveries/{delivery}")
        own = la.get(f"/dashboard/deliveries/{delivery}")
    assert foreign.status_code == 404 and "r.csv" not in foreign.text
    assert own.status_code == 200


def test_an_operator_gets_no_other_states_delivery_from_the_api(app, tmp_path):
    """Before: `GET /api/v1/deliveries/{id}` showed an LA operator a delivery only TN's
    vendor sent (file name, sha256, counts), and the list named it too."""
    delivery = one_state_delivery(app, tmp_path, "tnonly", "TN")
    la, tn = make_token(app, "operator", "LA"), make_token(app, "operator", "TN")
    with TestClient(create_app(app)) as client:
        foreign = client.get(f"/api/v1/deliveries/{delivery}", headers=bearer(la))
        missing = client.get(f"/api/v1/deliveries/{delivery + 1000}", headers=bearer(la))
        listed = client.get("/api/v1/deliveries", headers=bearer(la)).json()
        asked = client.get("/api/v1/deliveries?vendor=tnonly", headers=bearer(la)).json()
        own = client.get(f"/api/v1/deliveries/{delivery}", headers=bearer(tn))
        everyone = client.get(f"/api/v1/deliveries/{delivery}",
                              headers=bearer(make_token(app, "admin")))  # fmt: skip
    assert foreign.status_code == missing.status_code == 404
    assert "r.csv" not in foreign.text and "tnonly" not in foreign.text
    assert delivery not in [row["delivery_id"] for row in listed] and asked == []
    assert own.status_code == 200 and own.json()["file"] == "r.csv"
    assert everyone.status_code == 200 and everyone.json()["vendor"] == "tnonly"


def test_one_person_with_two_auditor_tokens_cannot_confirm_their_own_discrepancy(app, tmp_path):
    """Before: the second review only compared token ids."""
    with session_scope(app.engine) as session:
        [task_id, *_] = [task.id for task in drawn_tasks(session, tmp_path, {"036001": 1})]
        service = TokenService(session)
        spec = TokenSpec(Role.AUDITOR, "LA", label="Jane Roe <jroe@la.example>")
        first, second = (service.create(spec, actor="test").secret for _ in range(2))
    other = make_token(app, "auditor", "LA")
    finding = {"outcome": "discrepancy", "type": "missing", "note": "no certificate"}
    with TestClient(create_app(app)) as client:
        assert client.post(NEXT, headers=bearer(first)).json()["task"]["id"] == task_id
        client.post(f"/api/v1/audit/tasks/{task_id}/findings", json=finding, headers=bearer(first))
        offered = client.post(NEXT, headers=bearer(second)).json()["task"]
        assert offered is None or offered["id"] != task_id  # not offered to its finder
        own = client.post(f"/api/v1/audit/tasks/{task_id}/findings",
                          json={"outcome": "discrepancy"}, headers=bearer(second))  # fmt: skip
        with suppress(Exception):
            client.post(f"/api/v1/audit/tasks/{task_id}/release", headers=bearer(second))
        assert own.status_code in (403, 409), own.text
        assert client.post(NEXT, headers=bearer(other)).json()["task"]["stage"] == 2
        confirm = client.post(f"/api/v1/audit/tasks/{task_id}/findings",
                              json={"outcome": "discrepancy"}, headers=bearer(other))  # fmt: skip
    assert confirm.json()["finding"]["decision"] == "confirmed"
