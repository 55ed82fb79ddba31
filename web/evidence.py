"""`/api/v1/evidence`: districts upload certificate evidence; auditors review it.

Routes only translate HTTP to `EvidenceService` calls; the service checks the
claim and the file, and `access.policy` decides who sees what.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from exchange.evidence.services import EvidenceService
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from access.policy import Permission, may
from access.principals import Principal
from credx.app import App
from credx.database import session_scope
from exchange.evidence.claims import FIELDS
from exchange.evidence.models import Evidence
from web.auth import AppDep, Caller
from web.uploads import off_loop, receive, required_file

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
EvidenceId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
PREVIEW_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; sandbox"


class Submitted(BaseModel):
    id: str
    sha256: str
    status: str
    flags: list[str]


class EvidenceOut(BaseModel):
    id: str
    state: str
    district: str
    state_student_id: str
    student_name: str
    birth_date: date
    school_code: str
    school_year: str
    graduation_pathway: str
    credential_code: str
    date_earned: date
    media_type: str
    size: int
    sha256: str
    status: str
    flags: list[str]
    duplicate_image_of: str | None = None  # auditors only
    duplicate_claim_of: str | None = None
    created_at: datetime


def evidence_out(row: Evidence, viewer: Principal) -> EvidenceOut:
    """Flags for everyone who may see the row; which other upload it repeats, auditors only."""
    detail = may(viewer, Permission.EVIDENCE_FLAGS)
    return EvidenceOut(
        **{name: getattr(row, name) for name in EvidenceOut.model_fields if name != "flags"},
        flags=[str(flag) for flag in row.flags],
    ).model_copy(update={} if detail else {"duplicate_image_of": None, "duplicate_claim_of": None})


def _claim_schema() -> dict:
    properties = {name: {"type": "string", "maxLength": 200} for name in FIELDS}
    properties["file"] = {"type": "string", "format": "binary"}
    return {"type": "object", "properties": properties, "required": ["file", *FIELDS]}


def _bulk_schema() -> dict:
    binary = {"type": "string", "format": "binary"}
    return {"type": "object", "properties": {"archive": binary, "manifest": binary},
            "required": ["archive", "manifest"]}  # fmt: skip


def _multipart(schema: dict) -> dict:
    return {"requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": schema}}}}  # fmt: skip


def submit_one(app: App, caller: Principal, fields: dict[str, str], path, filename: str):
    with session_scope(app.engine) as session:
        row = EvidenceService(session, app, caller).submit(fields, path, filename=filename)
        return Submitted(id=row.id, sha256=row.sha256, status=row.status,
                         flags=[str(flag) for flag in row.flags])  # fmt: skip


def submit_bulk(app: App, caller: Principal, archive, manifest) -> dict:
    with session_scope(app.engine) as session:
        report = EvidenceService(session, app, caller).submit_bulk(archive, manifest)
        return report.as_json()


@router.post(
    "", status_code=201, response_model=Submitted, openapi_extra=_multipart(_claim_schema())
)
async def upload(request: Request, caller: Caller, app: AppDep) -> Submitted:
    """One certificate (PDF, PNG, JPEG or Open Badges 3.0 file) with its claim."""
    form = await receive(request, app.settings.upload_max_bytes)
    try:
        received = required_file(form, "file", "certificate file")
        return await off_loop(
            request,
            lambda: submit_one(app, caller, form.fields, received.path, received.filename),
        )
    finally:
        form.cleanup()


@router.post("/bulk", openapi_extra=_multipart(_bulk_schema()))
async def upload_bulk(request: Request, caller: Caller, app: AppDep) -> dict:
    """A zip of certificates plus a manifest CSV (one line per file): a result per line."""
    form = await receive(request, app.settings.upload_bulk_max_bytes)
    try:
        archive = required_file(form, "archive", "zip of certificates")
        manifest = required_file(form, "manifest", "manifest CSV")
        return await off_loop(
            request, lambda: submit_bulk(app, caller, archive.path, manifest.path)
        )
    finally:
        form.cleanup()


@router.get("", response_model=list[EvidenceOut])
def list_(
    caller: Caller,
    app: AppDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EvidenceOut]:
    """Uploads the caller may see, newest first: a district its own, an auditor its state's."""
    with session_scope(app.engine) as session:
        rows = EvidenceService(session, app, caller).list(limit=limit)
        return [evidence_out(row, caller) for row in rows]


@router.get("/{evidence_id}", response_model=EvidenceOut)
def show(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> EvidenceOut:
    with session_scope(app.engine) as session:
        return evidence_out(EvidenceService(session, app, caller).get(evidence_id), caller)


@router.get("/{evidence_id}/preview", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})  # fmt: skip
def preview(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> Response:
    """The re-rendered, metadata-free PNG (a view of student evidence: logged)."""
    with session_scope(app.engine) as session:
        png = EvidenceService(session, app, caller).preview(evidence_id)
    return preview_response(png)


def preview_response(png: bytes) -> Response:
    headers = {
        "Content-Security-Policy": PREVIEW_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Disposition": "inline; filename=preview.png",
    }
    return Response(png, media_type="image/png", headers=headers)


@router.get("/{evidence_id}/original", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})  # fmt: skip
def original(evidence_id: EvidenceId, caller: Caller, app: AppDep) -> Response:
    """The file byte for byte as uploaded, as a download (auditors only; logged)."""
    with session_scope(app.engine) as session:
        row, data = EvidenceService(session, app, caller).original(evidence_id)
    return original_response(row, data)


def original_response(row: Evidence, data: bytes) -> Response:
    extension = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}.get(
        row.media_type, "bin"
    )
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="evidence-{row.id}.{extension}"',
        "Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"})  # fmt: skip
