"""Errors a person's browser sees as a page in the design, never as raw JSON.

A request for a page (not `/api/...`) whose `Accept` names `text/html` gets
`error.html` with the status's heading and the message in words; everything
else keeps the JSON error of `web.errors`.  A signed-out browser meeting a 401
is sent to the sign-in page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import CredxError
from web.auth import web_user
from web.errors import credx_error_response, error_response, invalid_field, validation_response
from web.pages import render

HEADINGS = {
    403: "You do not have access to this page",
    404: "Page not found",
    405: "This page cannot be used that way",
    409: "This changed in the meantime",
    413: "The file is too large",
    422: "Something in the address or form is not right",
}
NOT_FOUND = (
    "There is no page at this address. Check the address, or start again from your start page."
)
MACHINE_PATHS = ("/api/", "/healthz", "/metrics", "/openapi.json", "/docs", "/static/")


def wants_html(request: Request) -> bool:
    path = request.url.path
    if any(path.startswith(prefix) for prefix in MACHINE_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


async def error_page(request: Request, status: int, message: str) -> Response:
    if status == 401:
        return RedirectResponse("/sign-in", status_code=303)
    user = await run_in_threadpool(web_user, request)
    heading = HEADINGS.get(status, "Something went wrong")
    return render(request, "error.html", status, user=user, heading=heading, error=message)


def install(app: FastAPI) -> None:
    """Handlers that answer a browser with a page and anything else as `web.errors` does."""

    @app.exception_handler(CredxError)
    async def _credx(request: Request, exc: CredxError):
        if wants_html(request):
            return await error_page(request, exc.http_status, str(exc))
        return credx_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if wants_html(request):
            field, message = invalid_field(exc)
            said = f"The value of “{field}” is not valid: {message.lower()}." if field else message
            return await error_page(request, 422, said)
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if wants_html(request):
            message = NOT_FOUND if exc.status_code == 404 else str(exc.detail)
            return await error_page(request, exc.status_code, message)
        return error_response(exc.status_code, str(exc.detail), None, exc.headers)
