"""The API contract: the OpenAPI document clients generate code from, and its explorers.

FastAPI describes what the route functions declare; this module adds what the
whole API shares so that the document says what the API answers:

- one `Error` schema (`{"error": {"code", "message", "field"}}`, `web.errors`)
  on every documented 4xx, instead of FastAPI's `HTTPValidationError`, which
  credx never sends;
- an HTTP bearer security scheme on every `/api/v1` operation (Swagger UI's
  Authorize button);
- the headers clients act on: `Location` on 201, `Link: <...>; rel="next"` on
  lists (`web.paging`), `Retry-After` on 429 and `WWW-Authenticate` on 401.

The explorers (`/docs`, Swagger UI; `/redoc`, ReDoc) are served from
`web/static/apidocs/` (vendored with their licences), never from a CDN, so they
work offline and under the pages' CSP without inline script.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

docs = APIRouter(include_in_schema=False)
ASSETS = "/static/apidocs"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every refusal: a machine-readable `code`, a message a person can act on, "
    "and the request field at fault (or null).",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "examples": ["not_found"]},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "A token an operator issued (`credx tokens issue`); its role, state, "
    "district or vendor decide what the caller sees.",
}
# What each documented refusal means to a client.
REFUSALS = {
    "400": "The request is malformed (for example a NUL character in the URL).",
    "401": "No token, or a token that is unknown, expired or revoked.",
    "403": "The token's role may not do this.",
    "404": "No such record, or one outside the caller's state, district or vendor "
    "(the two are not told apart).",
    "409": "Someone else changed the record first; reload it and try again.",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not of a type this operation takes.",
    "422": "A field is missing or invalid; `error.field` names it.",
    "429": "Too many failed sign-ins from this client; wait `Retry-After` seconds.",
    "503": "The service is busy or its storage is unreachable; retry after a minute.",
}
READ_REFUSALS = ("400", "401", "403", "404", "422", "429")
WRITE_REFUSALS = (*READ_REFUSALS, "409", "413", "415", "503")
HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    "429": {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}},
}
LOCATION = {"schema": {"type": "string"}, "description": "The URL of the created record."}
LINK = {
    "schema": {"type": "string"},
    "description": 'The next page, `<URL>; rel="next"`, while there is one: follow it until '
    "it is absent (the `cursor` in it is opaque).",
}


def install(api: FastAPI) -> None:
    """Serve the completed document at `/openapi.json` (built once per process)."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            spec = get_openapi(title=api.title, version=api.version, summary=api.summary,
                               description=api.description, routes=api.routes)  # fmt: skip
            api.openapi_schema = complete(spec)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with the shared error schema, security and headers filled in."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {"bearer": BEARER}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if path.startswith("/api/"):
                _complete_operation(method, operation)
    return spec


def _complete_operation(method: str, operation: dict[str, Any]) -> None:
    operation["security"] = [{"bearer": []}]
    responses = operation.setdefault("responses", {})
    for status in READ_REFUSALS if method == "get" else WRITE_REFUSALS:
        responses[status] = {"description": REFUSALS[status],
                             "content": {"application/json": {"schema": ERROR_REF}}}  # fmt: skip
        if status in HEADERS:
            responses[status]["headers"] = HEADERS[status]
    if "201" in responses:
        responses["201"].setdefault("headers", {})["Location"] = LOCATION
    ok = responses.get("200", {}).get("content", {}).get("application/json", {})
    if ok.get("schema", {}).get("type") == "array":
        responses["200"].setdefault("headers", {})["Link"] = LINK
    operation["responses"] = dict(sorted(responses.items()))


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>{head}</head>"
        f"<body>{body}</body></html>"
    )


@docs.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI over `/openapi.json` (its start-up is a file: the CSP allows no inline
    script)."""
    return _page(
        "credx API",
        f"<link rel='stylesheet' href='{ASSETS}/swagger-ui.css'>",
        f"<div id='swagger-ui'></div><script src='{ASSETS}/swagger-ui-bundle.js'></script>"
        f"<script src='{ASSETS}/swagger-init.js'></script>",
    )


@docs.get("/docs/oauth2-redirect")
def swagger_oauth2_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 return page (unused by bearer tokens, served so it is not a 404)."""
    return _page("credx API", "", f"<script src='{ASSETS}/oauth2-redirect.js'></script>")


@docs.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc over `/openapi.json`: the standalone bundle reads `spec-url` itself."""
    return _page("credx API", "", f"<redoc spec-url='/openapi.json'></redoc>"
                 f"<script src='{ASSETS}/redoc.standalone.js'></script>")  # fmt: skip
