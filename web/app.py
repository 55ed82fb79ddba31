"""The FastAPI application: a thin shell over the services, built per process.

`create_app(app)` wires the API (`/api/v1`), the server-rendered pages, JSON
errors and security headers.  Route functions are sync where they touch the
database (FastAPI runs them in its threadpool) and uploads hand their blocking
work to a bounded thread limiter, so the event loop only moves bytes.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from credx.app import App
from web import audit, deliveries, errors, evidence, pages, review
from web.headers import SecurityHeaders

STATIC = Path(__file__).parent / "static"


def create_app(app: App) -> FastAPI:
    api = FastAPI(
        title="credx",
        summary="Certificate evidence from districts; vendor delivery outcomes.",
        version="1",
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.credx = app
    api.state.work_limiter = anyio.CapacityLimiter(app.settings.upload_decode_concurrency)
    upload_dir = app.settings.home / "tmp" / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    api.state.upload_dir = upload_dir
    errors.install(api)
    api.add_middleware(SecurityHeaders)
    api.include_router(evidence.router)
    api.include_router(deliveries.router)
    api.include_router(review.api)
    api.include_router(pages.router)
    api.include_router(review.pages)
    api.include_router(audit.router)
    api.include_router(audit.pages)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability (no authentication, no data)."""
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    return api
