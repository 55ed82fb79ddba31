"""Security headers on every response, added by a pure ASGI middleware.

Pure ASGI (not `BaseHTTPMiddleware`) so request bodies keep streaming.  Pages
get a strict CSP (no scripts at all); only the auditor queue (`/audit`) may run
credx's own script file (keyboard shortcuts, next task without a reload), and
`/docs` and `/redoc` are allowed the explorers' own script files.

HSTS goes only on responses to requests that arrived over TLS: uvicorn's own TLS,
or a proxy whose `X-Forwarded-Proto: https` uvicorn believes (only with
`credx serve --behind-proxy`, from `--forwarded-allow-ips`).  On plain http it
would be ignored by browsers at best and pin a development host to https at worst.

Requests whose headers total more than MAX_HEADER_BYTES are answered 431 before any
route runs (uvicorn's h11 takes a whole oversized header block that arrives in one
read): tokens and cookies are a few hundred bytes, so only an attack sends more.
A URL carrying a NUL character is refused here, for every route at once: no credx
id or filter holds one, and PostgreSQL cannot even compare text with it (the
query would fail as a server error).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; font-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SCRIPTED_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; "
                                "connect-src 'self';")  # fmt: skip
SCRIPTED_PAGES = frozenset({"/audit"})
# The explorers' own script files only (web/static/apidocs); both set styles from script.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PAGES = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"  # two years, as hstspreload.org asks


NUL_REFUSED = JSONResponse(
    {"error": {"code": "bad_request", "field": None,
               "message": "the URL contains a NUL character (%00); remove it and retry"}},
    status_code=400,
)  # fmt: skip


MAX_HEADER_BYTES = 32 << 10  # nginx in front allows 4 x 16 KiB lines; credx needs far less
HEADERS_REFUSED = JSONResponse(
    {"error": {"code": "headers_too_large", "field": None,
               "message": f"the request headers exceed {MAX_HEADER_BYTES:,} bytes"}},
    status_code=431,
)  # fmt: skip


def header_bytes(scope: Scope) -> int:
    return sum(len(name) + len(value) for name, value in scope.get("headers", ()))


def has_nul(scope: Scope) -> bool:
    return "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _csp(scope["path"])
        over_tls = scope.get("scheme") == "https"  # set from X-Forwarded-Proto only if trusted

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", csp)
                headers.setdefault("cache-control", "no-store")
                if over_tls:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        handler = self.app
        if header_bytes(scope) > MAX_HEADER_BYTES:
            handler = HEADERS_REFUSED
        elif has_nul(scope):
            handler = NUL_REFUSED
        await handler(scope, receive, send_with_headers)


def _csp(path: str) -> str:
    if path in DOCS_PAGES:
        return DOCS_CSP
    return SCRIPTED_CSP if path in SCRIPTED_PAGES else PAGE_CSP
