"""Fuzzing the OpenAPI schema with schemathesis: no input may produce a 5xx.

Bounded (a few dozen examples per operation) so it stays fast in CI.  Calls go
to the real ASGI app on each backend with valid tokens: a district's for the
evidence routes (uploads are the hostile surface), an operator's for deliveries and the
linker's review queue.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.factories import bearer, make_token
from web.app import create_app

EXAMPLES_PER_OPERATION = 25


def fuzz(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        case.validate_response(response, checks=[not_a_server_error])

    run()


def test_no_input_produces_a_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app))
    district = bearer(make_token(app, "district", "LA", "036"))
    operator = bearer(make_token(app, "operator", "LA"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8  # every API route, /healthz included
    for operation in operations:
        operators = operation.path.startswith(("/api/v1/deliveries", "/api/v1/link"))
        fuzz(operation, operator if operators else district)
