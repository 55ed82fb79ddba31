"""The API contract: what `/openapi.json` says is what the API answers, for every role.

Schemathesis generates requests from the document and checks every answer
against it (status documented, content type, body schema, headers), with each
role's token.  The explorers must load with no network: their assets are
credx's own files.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.drills.tenants import seed
from tests.web.factories import bearer, certificate_png, make_token, upload
from web.app import create_app
from web.paging import encode

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 6
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def tenants(app, tmp_path):
    return seed(app, tmp_path / "seed")


def conform(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CONFORMANCE)

    run()


@on_sqlite
@pytest.mark.parametrize("role", ["vendor", "district", "auditor", "operator", "admin"])
def test_every_answer_conforms_to_the_published_spec_for_every_role(app, tenants, role):
    api = create_app(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    for operation in operations:
        conform(operation, bearer(tenants.secrets[role]))


@on_sqlite
def test_the_spec_documents_security_errors_and_summaries(app):
    api = create_app(app)
    spec = TestClient(api).get("/openapi.json").json()
    generated = {route.name.replace("_", " ").title().strip() for route in api.routes
                 if isinstance(route, APIRoute)}  # FastAPI's summary from a function name
    assert spec["components"]["securitySchemes"]["bearer"] == {
        **spec["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not path.startswith("/api/"):
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert operation["summary"] not in generated, (method, path)  # written, not derived
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
                if status.startswith("2") and "application/json" in answer.get("content", {}):
                    body = answer["content"]["application/json"]["schema"]
                    assert body.get("type") != "object" or body.get("properties"), (path, status)
                    assert "additionalProperties" not in body or body.get("properties"), path
            assert {"401", "403", "404", "422"} <= set(operation["responses"]), (method, path)
    assert "get" not in spec["paths"]["/api/v1/audit/tasks/next"]


@on_sqlite
def test_the_explorers_load_their_own_assets_not_a_cdn(app):
    client = TestClient(create_app(app))
    for page in ("/docs", "/redoc"):
        answer = client.get(page)
        assert answer.status_code == 200
        assert "cdn" not in answer.text.lower() and "https://" not in answer.text
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "http" not in csp
        for asset in re.findall(r"(?:src|href)='(/static/[^']+)'", answer.text):
            served = client.get(asset)
            assert served.status_code == 200 and len(served.content) > 100, asset
    assert "spec-url='/openapi.json'" in client.get("/redoc").text


@on_sqlite
def test_a_client_follows_next_links_through_every_upload_without_repeats(app):
    district = make_token(app, "district", "LA", "036")
    with TestClient(create_app(app)) as client:
        answers = [upload(client, district, certificate_png(f"page {n}"),
                          state_student_id=f"LA10000{n:02d}") for n in range(5)]  # fmt: skip
        ids = {answer.json()["id"] for answer in answers}
        seen, url, pages = [], "/api/v1/evidence?limit=2", 0
        while url:
            answer = client.get(url, headers=bearer(district))
            assert answer.status_code == 200, answer.text
            seen += [row["id"] for row in answer.json()]
            pages += 1
            link = answer.headers.get("link")
            url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1) if link else ""
        assert pages == 3 and len(seen) == 5 and set(seen) == ids
        refused = client.get("/api/v1/evidence?cursor=not-a-cursor", headers=bearer(district))
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor"
        past_the_end = client.get(f"/api/v1/evidence?cursor={encode(5)}", headers=bearer(district))
        assert past_the_end.json() == [] and "link" not in past_the_end.headers


@on_sqlite
def test_a_created_upload_answers_201_with_its_location(app):
    district = make_token(app, "district", "LA", "036")
    with TestClient(create_app(app)) as client:
        created = upload(client, district, certificate_png("located"))
        assert created.status_code == 201
        location = created.headers["location"]
        assert location == f"/api/v1/evidence/{created.json()['id']}"
        assert client.get(location, headers=bearer(district)).json()["id"] == created.json()["id"]
        read = client.get("/api/v1/audit/tasks/next", headers=bearer(district))
        assert read.status_code == 422 and read.json()["error"]["field"] == "path.task_id"
