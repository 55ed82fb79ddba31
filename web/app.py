"""The FastAPI application: a thin shell over the services, built per process.

`create_app(app)` wires the API (`/api/v1`), the server-rendered pages, JSON
errors and security headers.  Route functions are sync where they touch the
database (FastAPI runs them in its threadpool) and uploads hand their blocking
work to a bounded thread limiter, so the event loop only moves bytes.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from access.policy import may_scrape_metrics
from exchange.resources import Resources
from web import (
    agency,
    audit,
    contract,
    dashboard,
    deliveries,
    errors,
    evidence,
    html_errors,
    oidc,
    pages,
    reports,
    review,
)
from web.auth import client_address
from web.headers import SecurityHeaders
from web.metrics import CONTENT_TYPE_LATEST, Metrics
from web.request_log import RequestLog
from web.uploads import upload_spool

STATIC = Path(__file__).parent / "static"


def create_app(app: Resources) -> FastAPI:
    api = FastAPI(
        title="credx",
        summary="Certificate evidence from districts; vendor delivery outcomes.",
        version="1",
        docs_url=None,  # web.contract serves the explorers from its own files
        redoc_url=None,
    )
    api.state.credx = app
    api.state.work_limiter = anyio.CapacityLimiter(app.settings.upload_decode_concurrency)
    api.state.upload_dir = upload_spool(app.settings.home)
    api.state.oidc = agency.configure(app)  # a bad role mapping stops the start here
    errors.install(api)
    html_errors.install(api)  # after: a browser's page request gets an HTML error page
    api.add_middleware(SecurityHeaders)
    metrics = Metrics(app.engine)
    api.add_middleware(RequestLog, metrics=metrics)  # outermost: sees every response
    api.include_router(evidence.router)
    api.include_router(deliveries.router)
    api.include_router(review.api)
    api.include_router(dashboard.router)
    api.include_router(reports.router)
    api.include_router(pages.router)
    api.include_router(review.pages)
    api.include_router(deliveries.pages)
    api.include_router(audit.router)
    api.include_router(audit.pages)
    api.include_router(contract.docs)
    api.include_router(oidc.router)
    contract.install(api)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/healthz", tags=["service"], summary="Is the service up")
    def healthz() -> dict[str, str]:
        """Liveness and database reachability (no authentication, no data)."""
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @api.get("/metrics", include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        """Prometheus text format; who may scrape is `access.policy.may_scrape_metrics`."""
        secret = app.settings.metrics_token
        allowed = may_scrape_metrics(
            client_address(request), request.headers.get("authorization", ""),
            secret.get_secret_value() if secret else None,
            forwarded=bool(request.headers.get("x-forwarded-for") or
                           request.headers.get("forwarded")),
        )  # fmt: skip
        if not allowed:
            return Response(status_code=404)  # as if there were no such page
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return api
