"""Every error leaves as JSON shaped `{"error": {"code", "message", "field"}}`.

User-facing `CredxError`s (the web's own `ApiError` among them) answer with
their own `code`, `http_status` and `field` (`kernel.errors`), never their
CLI `hint`; Starlette's HTTP errors answer with their status's name; request
validation with 422 naming the field.  Anything else is a bug: logged with its
traceback (no request data) and answered with a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import CredxError

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


class ApiError(CredxError):
    """An HTTP-level refusal raised by the web layer itself (auth, body limits).

    Its status is the one it is raised with and its code the status's name
    (`HTTP_CODES`), as for Starlette's own HTTP errors; `headers` go out with it.
    """

    def __init__(self, status: int, message: str, *, field: str | None = None, headers=None):
        super().__init__(message, field=field)
        self.http_status, self.code = status, HTTP_CODES.get(status, "error")
        self.headers = headers


def error_response(status: int, message: str, field=None, headers=None, code=None):
    code = code or HTTP_CODES.get(status, "error")
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


def credx_error_response(exc: CredxError) -> JSONResponse:
    """The one answer for every user-facing error: its code, message and field (never
    its `hint`, which names CLI commands), with its own status."""
    headers = exc.headers if isinstance(exc, ApiError) else None
    return error_response(exc.http_status, str(exc), exc.field, headers, code=exc.code)


def invalid_field(exc: RequestValidationError) -> tuple[str | None, str]:
    """(field, message) of a request's first invalid value."""
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    return ".".join(location) or None, str(first.get("msg", "invalid"))


def validation_response(exc: RequestValidationError) -> JSONResponse:
    field, message = invalid_field(exc)
    return error_response(422, f"{field or 'request'}: {message}", field)


def install(app: FastAPI) -> None:
    @app.exception_handler(CredxError)
    async def _credx(_request: Request, exc: CredxError):
        return credx_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        return validation_response(exc)

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
