"""Every error leaves as JSON shaped `{"error": {"code", "message", "field"}}`.

User-facing `CredxError`s map to 4xx by type; request validation to 422 naming
the field; anything else is a bug: logged with its traceback (no request data)
and answered with a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.policy import Forbidden
from kernel.errors import CredxError, IntegrityFailure, InvalidInput, NotFound

log = logging.getLogger("credx.web")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "busy",
}


class ApiError(Exception):
    """An HTTP-level refusal raised by the web layer itself (auth, body limits)."""

    def __init__(self, status: int, message: str, *, field: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


def error_response(status: int, message: str, field=None, headers=None, code=None):
    code = code or HTTP_CODES.get(status, "error")
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


REFUSAL_STATUS = {
    "file_too_large": 413,
    "archive_too_large": 413,
    "unsupported_type": 415,
    "extension_mismatch": 415,
    "polyglot": 415,
}


def status_of(exc: CredxError) -> int:
    refusal = REFUSAL_STATUS.get(getattr(exc, "code", ""))
    if refusal:
        return refusal
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, IntegrityFailure):
        return 409
    return getattr(exc, "http_status", 422 if isinstance(exc, InvalidInput) else 400)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.field, exc.headers)

    @app.exception_handler(CredxError)
    async def _credx(_request: Request, exc: CredxError):
        status = status_of(exc)
        code = getattr(exc, "code", None) or HTTP_CODES.get(status, "error")
        return error_response(status, str(exc), getattr(exc, "field", None), code=code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
        field = ".".join(location) or None
        return error_response(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), None, exc.headers)

    @app.exception_handler(OperationalError)
    async def _busy(_request: Request, exc: OperationalError):
        if "database is locked" not in str(exc.orig):
            return await _bug(_request, exc)
        log.warning("SQLite busy: a request waited longer than the busy timeout")
        return error_response(503, "the service is busy; try again in a minute",
                              headers={"Retry-After": "30"})  # fmt: skip

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception):
        log.exception("unhandled error (%s)", type(exc).__name__)
        return error_response(500, "internal error; it has been logged")
