"""One scrubbed log line and one metrics observation per HTTP request (pure ASGI).

The line has the path without its query string (search parameters can carry
names), the route template (`/api/v1/evidence/{evidence_id}`), status and
duration.  A request id is taken from a well-formed `X-Request-ID` (a proxy's:
hex digits and dashes, nothing else) or made here, logged with every line written
while the request is served and returned in the response's `X-Request-ID`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.logs import request_id
from web.metrics import Metrics

log = logging.getLogger("credx.http")
# A proxy's id (nginx `$request_id`, a UUID): hex digits and dashes only.  Anything else is
# replaced, never logged or echoed: a client could send a token or a student's name here.
INCOMING_ID = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f-]{7,63}")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if INCOMING_ID.fullmatch(text) else None
    return None


def route_of(scope: Scope) -> str:
    """The matched route's template, so metrics labels stay few; `unmatched` otherwise."""
    route = scope.get("route")
    return getattr(route, "path", None) or ("/static" if scope["path"].startswith("/static/")
                                             else "unmatched")  # fmt: skip


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).setdefault("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_of(scope)
        # an unmatched path is whatever a client typed (a student id, a name): not logged
        path = scope["path"] if route != "unmatched" else "(unmatched)"
        self.metrics.observe(scope["method"], route, status, seconds)
        log.info(
            "%s %s %s", scope["method"], path, status,
            extra={"method": scope["method"], "path": path, "route": route,
                   "status": status, "duration_ms": round(seconds * 1000, 1)},
        )  # fmt: skip
