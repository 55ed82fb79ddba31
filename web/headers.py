"""Security headers on every response, added by a pure ASGI middleware.

Pure ASGI (not `BaseHTTPMiddleware`) so request bodies keep streaming.  Pages
get a strict CSP (no scripts at all); only the auditor queue (`/audit`) may run
credx's own script file (keyboard shortcuts, next task without a reload), and
`/docs` is allowed the Swagger UI assets.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SCRIPTED_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; "
                                "connect-src 'self';")  # fmt: skip
SCRIPTED_PAGES = frozenset({"/audit"})
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com;"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _csp(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", csp)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csp(path: str) -> str:
    if path == "/docs":
        return DOCS_CSP
    return SCRIPTED_CSP if path in SCRIPTED_PAGES else PAGE_CSP
