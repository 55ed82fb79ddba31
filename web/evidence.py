"""`/api/v1/evidence`: districts upload certificate evidence; auditors review it.

Routes only translate HTTP to `EvidenceService` calls; the service checks the
claim and the file, and `access.policy` decides who sees what.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from access.principals import Principal
from audit.plans.standing import standings
from exchange.evidence.claims import FIELDS, Claim, parse_claim
from exchange.evidence.models import EvidenceStatus
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.services import EvidenceService, EvidenceView
from exchange.resources import Resources
from kernel.database import session_scope
from web.auth import AppDep, Caller
from web.db import web_session
from web.paging import Page, paging
from web.uploads import off_loop, receive, required_file


def audited(session: Session, views: Sequence[EvidenceView]) -> list[EvidenceView]:
    """Uploads as the API and the pages show them: for one ever sampled, `status` follows
    its audit (`audit.plans.standing`) and `audit_standing` says where it stands in words."""
    found = standings(session, [view.id for view in views])
    return [view.model_copy(update={"status": found[view.id].status,
                                    "audit_standing": found[view.id].words})
            if view.id in found else view for view in views]  # fmt: skip

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
EvidenceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PREVIEW_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; sandbox"


class Submitted(BaseModel):
    id: str
    sha256: str
    status: str
    flags: list[str]  # duplicate_image, duplicate_claim


class LineError(BaseModel):
    code: str
    message: str
    field: str | None = None


class BulkLine(BaseModel):
    """One manifest line: accepted (`id`, `sha256`, `status`) or refused (`error`)."""

    line: int
    file: str | None = None
    id: str | None = None
    sha256: str | None = None
    status: str | None = None
    error: LineError | None = None


class BulkResult(BaseModel):
    accepted: int
    refused: int
    lines: list[BulkLine]


def _multipart(properties: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


BINARY = {"type": "string", "format": "binary"}
UPLOAD_BODY = _multipart(
    {**{name: {"type": "string", "maxLength": 200} for name in FIELDS}, "file": BINARY},
    ["file", *FIELDS],
)
BULK_BODY = _multipart({"archive": BINARY, "manifest": BINARY}, ["archive", "manifest"])


def submit_one(
    app: Resources, caller: Principal, fields: dict, path: FilePath, filename: str
) -> dict:
    """The claim is checked first in a read-only transaction, so the one that writes begins
    only after the file is decoded and encrypted (on SQLite it holds the write lock)."""
    claim: Claim | dict = fields
    with suppress(EvidenceRefused), session_scope(app.engine) as session:
        claim = parse_claim(session, fields)  # refused: the service refuses it again, logged
    with web_session(app) as session:  # a refusal's event is kept (kernel.database)
        return EvidenceService(session, app, caller).submit(claim, path, filename).as_json()


def submit_bulk(app: Resources, caller: Principal, archive: FilePath, manifest: FilePath) -> dict:
    with web_session(app) as session:
        return EvidenceService(session, app, caller).submit_bulk(archive, manifest).as_json()


@router.post("", status_code=201, response_model=Submitted, openapi_extra=UPLOAD_BODY,
             summary="Upload one certificate")  # fmt: skip
async def upload(request: Request, response: Response, caller: Caller, app: AppDep) -> dict:
    """One certificate (PDF, PNG, JPEG or Open Badges 3.0 file) with its claim, as
    multipart form fields.  `Location` names the new upload."""
    form = await receive(request, app.settings.upload_max_bytes)
    try:
        received = required_file(form, "file", "certificate file")
        submitted = await off_loop(
            request,
            lambda: submit_one(app, caller, form.fields, received.path, received.filename),
        )
        response.headers["Location"] = f"{router.prefix}/{submitted['id']}"
        return submitted
    finally:
        form.cleanup()


@router.post("/bulk", response_model=BulkResult, openapi_extra=BULK_BODY,
             response_model_exclude_unset=True, summary="Upload many certificates")  # fmt: skip
async def upload_bulk(request: Request, caller: Caller, app: AppDep) -> dict:
    """A zip of certificates plus a manifest CSV (one line per file): a result per line,
    accepted or refused with the reason; one bad line refuses only itself."""
    form = await receive(request, app.settings.upload_bulk_max_bytes)
    try:
        archive = required_file(form, "archive", "zip of certificates")
        manifest = required_file(form, "manifest", "manifest CSV")
        return await off_loop(
            request, lambda: submit_bulk(app, caller, archive.path, manifest.path)
        )
    finally:
        form.cleanup()


@router.get("", response_model=list[EvidenceView], response_model_exclude_unset=True,
            summary="List uploads")  # fmt: skip
def list_(
    caller: Caller,
    app: AppDep,
    request: Request,
    response: Response,
    page: Annotated[Page, paging(100, 500)],
    status: EvidenceStatus | None = None,
    flagged: bool | None = None,
) -> list[dict]:
    """Certificate uploads the caller may see, newest first: a district its own, an auditor
    its state's.  `flagged=true` keeps those marked as a possible duplicate."""
    with web_session(app) as session:
        service = EvidenceService(session, app, caller)
        rows = service.list(status=status, flagged=flagged, limit=page.fetch,
                            offset=page.offset)  # fmt: skip
        views = [service.describe(row) for row in page.serve(rows, request, response)]
        return [view.as_json() for view in audited(session, views)]


@router.get("/{evidence_id}", response_model=EvidenceView, response_model_exclude_unset=True,
            summary="Show one upload")  # fmt: skip
def show(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> dict:
    """One upload (404 outside the caller's tenant, as for one that does not exist); once
    sampled for audit, its `status` follows the audit."""
    with web_session(app) as session:
        service = EvidenceService(session, app, caller)
        [view] = audited(session, [service.describe(service.get(evidence_id))])
        return view.as_json()


@router.get("/{evidence_id}/preview", response_class=Response,
            responses={200: {"content": {"image/png": {}}}},
            summary="Preview an upload")  # fmt: skip
def preview(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> Response:
    """The re-rendered, metadata-free PNG (a view of student evidence: logged)."""
    return preview_response(app, caller, evidence_id)


def preview_response(app: Resources, caller: Principal, evidence_id: str) -> Response:
    with web_session(app) as session:
        png = EvidenceService(session, app, caller).preview(evidence_id)
    headers = {
        "Content-Security-Policy": PREVIEW_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Disposition": "inline; filename=preview.png",
    }
    return Response(png, media_type="image/png", headers=headers)


@router.get("/{evidence_id}/original", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}},
            summary="Download the original file")  # fmt: skip
def original(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> Response:
    """The file byte for byte as uploaded, as a download (auditors only; logged)."""
    return original_response(app, caller, evidence_id)


def original_response(app: Resources, caller: Principal, evidence_id: str) -> StreamingResponse:
    """Logged and committed before the first byte; then streamed, decrypted and verified."""
    with web_session(app) as session:  # the service reads the first chunk inside it
        chunks, _media_type, name = EvidenceService(session, app, caller).original(evidence_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Security-Policy": PREVIEW_CSP,
        "Cache-Control": "no-store",
    }
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)
