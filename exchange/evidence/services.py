"""Evidence uploads and views for one caller: the only way in for the web app and the CLI.

`EvidenceService(session, app, principal)` checks permissions with
`access.policy` before anything else and filters every read by tenant (a record
outside the caller's tenant is `NotFound`, exactly as an absent one).  Uploads
take state and district from the principal, never from the form.

Transactions: the caller's unit of work commits (`kernel.database`).  A
refused upload raises `EvidenceRefused` carrying its refusal event (code,
field, message: no student data); the unit of work rolls the upload back and
keeps that event, so the record of an attack survives the failed request.
A bulk upload is the one batch: each accepted line is committed as it is
stored (see `submit_bulk`).  Blobs written for an upload that then fails are
deleted before the error propagates, so nothing partial remains.
"""

from __future__ import annotations

import builtins
import itertools
import json
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from access.policy import GRANTS, Forbidden, Permission, may_see_evidence, require
from access.principals import Principal, Role
from eventlog.log import EventLog
from eventlog.tags import EventTag
from exchange.evidence.archives import BulkArchive, ManifestLine, read_manifest
from exchange.evidence.badges import BadgeRefused, BadgeVerification, verify_badge
from exchange.evidence.claims import Claim, parse_claim
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.inspection import Inspection, Kind, Limits, inspect_upload
from exchange.evidence.models import Evidence, EvidenceStatus, Flag
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.sandbox import sandbox_for
from exchange.models import StoredBlob
from exchange.resources import Resources
from kernel import sealing
from kernel.clock import day_span
from kernel.errors import NotFound

# The state's school list (rosters.models.School), read by name: rosters sits above exchange.
SCHOOLS = sa.table(
    "schools", sa.column("state"), sa.column("district_code"), sa.column("school_code")
)

EVIDENCE_REFUSED = EvidenceEvent.EVIDENCE_REFUSED
EVIDENCE_ID = re.compile(r"[0-9a-f]{32}")
MAX_LIST = 1000
EXTENSIONS = {kind.media_type: kind.extension for kind in Kind}


@dataclass(frozen=True)
class Receipt:
    """What an accepted upload answers: `201 {"id", "sha256", "status", "flags"}`."""

    id: str
    sha256: str
    status: str
    flags: tuple[Flag, ...] = ()

    def as_json(self) -> dict:
        return {
            "id": self.id, "sha256": self.sha256, "status": self.status,
            "flags": [str(flag) for flag in self.flags],
        }  # fmt: skip


@dataclass(frozen=True)
class LineResult:
    """One manifest line of a bulk upload: its receipt or its error."""

    line: int
    file: str
    receipt: Receipt | None = None
    error: EvidenceRefused | None = None

    def as_json(self) -> dict:
        head = {"line": self.line, "file": self.file}
        if self.receipt is not None:
            return {**head, **self.receipt.as_json()}
        assert self.error is not None
        return {**head, "error": self.error.as_json()}


@dataclass(frozen=True)
class BulkReport:
    lines: list[LineResult]

    @property
    def accepted(self) -> int:
        return sum(1 for line in self.lines if line.receipt is not None)

    def as_json(self) -> dict:
        return {
            "lines": [line.as_json() for line in self.lines],
            "accepted": self.accepted, "refused": len(self.lines) - self.accepted,
        }  # fmt: skip


class EvidenceView(BaseModel):
    """One upload as the API, the pages and the CLI show it (`GET /api/v1/evidence/{id}`).

    Also the web's response model.  Which earlier uploads it repeats
    (`duplicate_*_of`) only flag-seeing roles are told: for the others those
    two keys are left unset, and so absent from `as_json()`, not null.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    state: str
    district: str
    state_student_id: str
    student_name: str
    birth_date: str
    school_code: str
    school_year: str
    graduation_pathway: str
    credential_code: str
    date_earned: str
    media_type: str
    size: int
    sha256: str
    status: str = Field(description="`received` or `signature_verified`; once sampled for "
                        "audit it follows the audit: `sampled`, `in_review`, `re_review`, "
                        "`verified` or `discrepancy`")  # fmt: skip
    audit_standing: str | None = Field(
        default=None, description="where the upload stands in its audit, in words; absent "
        "if never sampled")  # fmt: skip
    has_preview: bool
    badge: dict | None = None
    uploaded_by: str
    created_at: str
    flags: list[str]
    duplicate_image_of: str | None = None
    duplicate_claim_of: str | None = None

    @classmethod
    def of(
        cls, evidence: Evidence, *, with_duplicates: bool, flags: list[Flag] | None = None
    ) -> EvidenceView:
        duplicates = (
            {"duplicate_image_of": evidence.duplicate_image_of,
             "duplicate_claim_of": evidence.duplicate_claim_of}
            if with_duplicates else {}
        )  # fmt: skip
        return cls(
            id=evidence.id, state=evidence.state, district=evidence.district,
            state_student_id=evidence.state_student_id, student_name=evidence.student_name,
            birth_date=evidence.birth_date.isoformat(), school_code=evidence.school_code,
            school_year=evidence.school_year, graduation_pathway=evidence.graduation_pathway,
            credential_code=evidence.credential_code,
            date_earned=evidence.date_earned.isoformat(), media_type=evidence.media_type,
            size=evidence.size, sha256=evidence.sha256, status=evidence.status,
            has_preview=evidence.preview_blob_id is not None,
            badge=json.loads(evidence.badge) if evidence.badge else None,
            uploaded_by=evidence.uploaded_by, created_at=evidence.created_at.isoformat(),
            flags=[str(flag) for flag in (evidence.flags if flags is None else flags)],
            **duplicates,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class EvidenceService:
    def __init__(self, session: Session, app: Resources, principal: Principal):
        self.session = session
        self.app = app
        self.principal = principal
        self.limits = Limits.from_settings(app.settings)
        self.log = EventLog(session)
        # In a bulk upload: each distinct entry's file and checks, so that an entry named on
        # many manifest lines is extracted and decoded once.  None outside a bulk upload.
        self._bulk_files: dict[str, Path | EvidenceRefused] | None = None
        self._inspected: dict[Path, tuple[Inspection, BadgeVerification | None]
                              | EvidenceRefused] | None = None  # fmt: skip

    # -- uploads -----------------------------------------------------------------

    def submit(
        self, claim: Mapping[str, object] | Claim, path: Path, filename: str | None = None
    ) -> Receipt:
        """Check the claim and the file, store the original and its preview encrypted.

        `path` is a private file the caller owns (the web app's spooled upload);
        it is read in chunks, never whole, and left for the caller to delete.
        `filename` is the client's name, used only to check its extension.

        Call it with no transaction open (the web parses the claim in a unit of
        work of its own first): on SQLite a read snapshot held across seconds of
        decoding cannot be upgraded to a write once another writer has committed.
        """
        require(self.principal, Permission.EVIDENCE_UPLOAD)
        state, district = self._uploader_tenant()
        try:
            parsed = claim if isinstance(claim, Claim) else parse_claim(self.session, claim)
            inspection, badge = self._inspect(path, filename)
            with self.session.begin_nested():  # refused while storing: nothing of it stays
                return self._store(parsed, path, inspection, badge, state, district)
        except EvidenceRefused as refusal:
            self._keeping(refusal, EVIDENCE_REFUSED, _size(path))
            raise

    def _inspect(
        self, path: Path, filename: str | None
    ) -> tuple[Inspection, BadgeVerification | None]:
        """The file's checks (in the sandbox) and badge; within a bulk upload, once per file."""
        cached = None if self._inspected is None else self._inspected.get(path)
        if cached is None:
            try:
                inspection = inspect_upload(path, filename, self.limits)
                cached = (inspection, self._verify_badge(path) if inspection.is_badge else None)
            except EvidenceRefused as refusal:
                cached = refusal
            if self._inspected is not None:
                self._inspected[path] = cached
        if isinstance(cached, EvidenceRefused):  # a new error each time: each carries its event
            raise _again(cached)
        return cached

    def submit_bulk(self, archive_path: Path, manifest_path: Path) -> BulkReport:
        """One result per manifest line; a bad archive or manifest refuses the whole upload.

        Batch by design: each accepted line (and each refused line's event) is
        committed before the next file is decoded, the one `commit()` in a
        service.  Every line is complete on its own, and one transaction held
        across the decoding of hundreds of files would hold SQLite's single
        write lock for minutes, failing every other request as busy.
        """
        require(self.principal, Permission.EVIDENCE_UPLOAD)
        self._uploader_tenant()
        settings = self.app.settings
        try:
            lines = read_manifest(manifest_path, settings.upload_bulk_max_entries)
            archive = BulkArchive(
                archive_path,
                max_entries=settings.upload_bulk_max_entries,
                max_total=settings.upload_bulk_max_bytes,
                max_file=settings.upload_max_bytes,
                sandbox=sandbox_for(self.limits.sandbox),
            )
        except EvidenceRefused as refusal:
            self._keeping(refusal, EvidenceEvent.EVIDENCE_BULK_REFUSED, _size(archive_path))
            raise
        self._bulk_files, self._inspected = {}, {}
        try:
            with archive, tempfile.TemporaryDirectory(prefix="credx-bulk-") as scratch:
                report = BulkReport(
                    [self._bulk_line(archive, line, Path(scratch)) for line in lines]
                )
        finally:
            self._bulk_files = self._inspected = None
        self.log.record(
            EvidenceEvent.EVIDENCE_BULK_RECEIVED, self._tenant_subject(), self.principal.actor,
            lines=len(report.lines), accepted=report.accepted,
            refused=len(report.lines) - report.accepted,
        )  # fmt: skip
        return report

    def _bulk_line(self, archive: BulkArchive, line: ManifestLine, scratch: Path) -> LineResult:
        assert self._bulk_files is not None
        extracted = self._bulk_files.get(line.file)
        if extracted is None:
            try:
                extracted = archive.extract(archive.entry(line.file), scratch)
            except EvidenceRefused as failed:
                extracted = failed
            self._bulk_files[line.file] = extracted  # kept until the bulk upload ends
        if isinstance(extracted, EvidenceRefused):
            again = _again(extracted)
            return self._refused_line(line, self._keeping(again, EVIDENCE_REFUSED, None))
        return self._bulk_submit(line, extracted, line.file)

    def _bulk_submit(self, line: ManifestLine, path: Path, filename: str) -> LineResult:
        try:
            claim = parse_claim(self.session, line.claim)
        except EvidenceRefused as refusal:
            return self._refused_line(line, self._keeping(refusal, EVIDENCE_REFUSED, _size(path)))
        # The batch so far, and this claim's read: no transaction (on the web, SQLite's one
        # write lock) is held while the file is decoded (see `submit_bulk`).
        self.session.commit()
        try:
            receipt = self.submit(claim, path, filename=filename)
        except EvidenceRefused as refusal:  # its event attached by submit
            return self._refused_line(line, refusal)
        return LineResult(line.number, line.file, receipt=receipt)

    def _refused_line(self, line: ManifestLine, refusal: EvidenceRefused) -> LineResult:
        """One line refused, the bulk upload carries on: its event is kept with the batch."""
        if refusal.record is not None:
            refusal.record(self.session)
        return LineResult(line.number, line.file, error=refusal)

    def _uploader_tenant(self) -> tuple[str, str]:
        state, district = self.principal.state, self.principal.district
        if self.principal.role is not Role.DISTRICT or not state or not district:
            raise Forbidden(
                "evidence is uploaded with a district token: its state and district are the "
                "upload's; ask the state's operator for one",
                hint="create one with `credx tokens create --role district`",
            )
        return state, district

    def _verify_badge(self, path: Path) -> BadgeVerification:
        try:
            return verify_badge(path, self.app.settings)
        except BadgeRefused as refused:
            raise EvidenceRefused(str(refused), code=refused.code) from None

    def _store(
        self, claim: Claim, path: Path, inspection: Inspection,
        badge: BadgeVerification | None, state: str, district: str,
    ) -> Receipt:  # fmt: skip
        vault = self.app.vault(self.session)
        written: list[StoredBlob] = []
        try:
            original = vault.put_file(path)
            written.append(original)
            if original.size > self.limits.max_bytes:  # it grew after inspection
                raise EvidenceRefused("the file changed while it was checked", code="changed")
            preview = vault.put([inspection.preview]) if inspection.preview else None
            if preview is not None:
                written.append(preview)
            # after the first write (the blob's row): on SQLite a read first, then a write,
            # fails once another upload has committed in between
            self._check_school(claim, state, district)
            evidence = self._record(claim, inspection, badge, original, preview, state, district)
        except BaseException:
            for blob in written:
                self.app.store.delete(blob.store_key)
            raise
        return Receipt(evidence.id, evidence.sha256, evidence.status, tuple(self._flags(evidence)))

    def _record(self, claim, inspection, badge, original, preview, state, district) -> Evidence:
        evidence = Evidence(
            id=uuid.uuid4().hex, state=state, district=district, **claim.as_dict(),
            media_type=inspection.kind.media_type, size=original.size, sha256=original.sha256,
            blob_id=original.id, preview_blob_id=preview.id if preview else None,
            status=(
                EvidenceStatus.SIGNATURE_VERIFIED
                if badge and badge.issuer_trusted
                else EvidenceStatus.RECEIVED
            ),
            badge=json.dumps(badge.as_json(), sort_keys=True) if badge else None,
            uploaded_by=self.principal.actor,
        )  # fmt: skip
        evidence.duplicate_image_of = self._same_image(evidence)
        evidence.duplicate_claim_of = self._same_claim(evidence)
        self.session.add(evidence)
        self.session.flush()
        self.log.record(
            EvidenceEvent.EVIDENCE_RECEIVED, f"evidence:{evidence.id}", self.principal.actor,
            state=state, district=district, sha256=evidence.sha256, size=evidence.size,
            media_type=evidence.media_type, status=evidence.status,
            credential_code=evidence.credential_code, flags=[str(f) for f in evidence.flags],
            duplicate_image_of=evidence.duplicate_image_of,
            duplicate_claim_of=evidence.duplicate_claim_of,
        )  # fmt: skip
        return evidence

    def _check_school(self, claim: Claim, state: str, district: str) -> None:
        """Once the state's school list is loaded (the rosters domain owns it; this layer
        sits below it, so reads its table by name), the school must be one of the district's,
        the same rule the roster import applies."""
        listed = sa.select(SCHOOLS.c.school_code).where(SCHOOLS.c.state == state)
        if self.session.execute(listed.limit(1)).first() is None:
            return
        found = listed.where(SCHOOLS.c.district_code == district,
                             SCHOOLS.c.school_code == claim.school_code)  # fmt: skip
        if self.session.execute(found.limit(1)).first() is None:
            raise EvidenceRefused(
                f"school {claim.school_code} is not one of district {district}'s schools in the "
                "state's school list; choose the school from the list", code="unknown_school",
                field="school_code",
            )  # fmt: skip

    def _same_image(self, evidence: Evidence) -> str | None:
        """The earliest upload in the state of the same bytes for another student, or for
        another credential of the same student (one certificate cannot prove two)."""
        query = select(Evidence.id).where(
            Evidence.state == evidence.state,
            Evidence.sha256 == evidence.sha256,
            (col(Evidence.state_student_id_bidx) != self._student_index(evidence))
            | (col(Evidence.credential_code) != evidence.credential_code),
        )
        return self.session.exec(query.order_by(col(Evidence.created_at)).limit(1)).first()

    def _student_index(self, evidence: Evidence) -> str | None:
        """The claim's student id as its blind index: the column itself is sealed."""
        return sealing.keys_of(self.session.get_bind()).blind_index(evidence.state_student_id)

    def _same_claim(self, evidence: Evidence) -> str | None:
        """The earliest upload in the state claiming the same student, credential and date."""
        query = select(Evidence.id).where(
            Evidence.state == evidence.state,
            Evidence.state_student_id_bidx == self._student_index(evidence),
            Evidence.credential_code == evidence.credential_code,
            Evidence.date_earned == evidence.date_earned,
        )
        return self.session.exec(query.order_by(col(Evidence.created_at)).limit(1)).first()

    def _keeping(
        self, refusal: EvidenceRefused, action: EventTag, size: int | None
    ) -> EvidenceRefused:
        """The refusal, carrying its event: code, field and message, never the claim's values."""
        subject, actor = self._tenant_subject(), self.principal.actor

        def record(session: Session) -> None:
            EventLog(session).record(
                action, subject, actor,
                code=refusal.code, field=refusal.field, message=str(refusal), size=size,
            )  # fmt: skip

        return refusal.keeping(record)

    def _tenant_subject(self) -> str:
        return f"district:{self.principal.state}-{self.principal.district}"

    # -- reads -------------------------------------------------------------------

    def list(
        self, *, status: str | None = None, flagged: bool | None = None, limit: int = 100,
        offset: int = 0, search: str | None = None, school_code: str | None = None,
        credential_code: str | None = None, since: date | None = None,
        until: date | None = None,
    ) -> list[Evidence]:  # fmt: skip
        """The caller's tenant's evidence, newest first (`describe` makes JSON of a row).

        `search` is a state student id, school code or credential code, matched exactly;
        `since`/`until` bound the upload date (inclusive).
        """
        require(self.principal, Permission.EVIDENCE_LIST)
        query = select(Evidence)
        if self.principal.state is not None:
            query = query.where(Evidence.state == self.principal.state)
        if self.principal.role is Role.DISTRICT:
            query = query.where(Evidence.district == self.principal.district)
        if status is not None:
            query = query.where(Evidence.status == status)
        index = sealing.keys_of(self.session.get_bind()).blind_index  # ids are sealed
        query = _filtered(query, search, school_code, credential_code, since, until, index)
        sees_flags = Permission.EVIDENCE_FLAGS in GRANTS[self.principal.role]
        if flagged is not None and sees_flags:
            flag = col(Evidence.duplicate_image_of).is_not(None) | col(
                Evidence.duplicate_claim_of
            ).is_not(None)
            query = query.where(flag if flagged else ~flag)
        query = query.order_by(col(Evidence.created_at).desc(), col(Evidence.id))
        rows = self.session.exec(query.offset(offset).limit(min(limit, MAX_LIST))).all()
        visible = [row for row in rows if self._may_see(row)]
        if flagged is not None and not sees_flags:  # by the flags this caller is told
            duplicates = {Flag.DUPLICATE_CLAIM, Flag.DUPLICATE_IMAGE}
            visible = [r for r in visible if bool(duplicates & set(self._flags(r))) == flagged]
        self.log.record(
            EvidenceEvent.EVIDENCE_LISTED, f"evidence-list:{self.principal.state or 'all'}",
            self.principal.actor, count=len(visible), ids=[row.id for row in visible],
        )  # fmt: skip
        return visible

    def get(self, evidence_id: str) -> Evidence:
        """One upload's claim, file facts, status and flags (`NotFound` outside the tenant)."""
        require(self.principal, Permission.EVIDENCE_LIST)
        evidence = self._visible(evidence_id)
        self.log.record(
            EvidenceEvent.EVIDENCE_VIEWED, f"evidence:{evidence.id}", self.principal.actor
        )
        return evidence

    def preview(self, evidence_id: str) -> bytes:
        """The PNG credx rendered (at most 1600 px a side); every call is in the event log."""
        require(self.principal, Permission.EVIDENCE_PREVIEW)
        evidence = self._visible(evidence_id)
        if evidence.preview_blob_id is None:
            raise NotFound(
                f"evidence {evidence.id} is a digital badge: it has no image, its verified "
                "facts are in its record"
            )
        self.log.record(
            EvidenceEvent.EVIDENCE_PREVIEW_VIEWED, f"evidence:{evidence.id}", self.principal.actor
        )
        return self.app.vault(self.session).read_bytes(evidence.preview_blob_id)

    def original(self, evidence_id: str) -> tuple[Iterator[bytes], str, str]:
        """(decrypted chunks, media type, a safe file name) of the file byte for byte.

        The chunks are verified as they stream (the last one raises
        `IntegrityFailure` if the blob was altered); the first is read now, so the
        session may be closed before streaming.  The download is in the event log
        before the first byte.  Auditors (and admins) only.
        """
        require(self.principal, Permission.EVIDENCE_ORIGINAL)
        evidence = self._visible(evidence_id)
        self.log.record(
            EvidenceEvent.EVIDENCE_ORIGINAL_DOWNLOADED, f"evidence:{evidence.id}",
            self.principal.actor, sha256=evidence.sha256, size=evidence.size,
        )  # fmt: skip
        name = f"evidence-{evidence.id}{EXTENSIONS.get(evidence.media_type, '.bin')}"
        chunks = self.app.vault(self.session).open(evidence.blob_id)
        first = next(chunks, b"")
        return itertools.chain([first], chunks), evidence.media_type, name

    def describe(self, evidence: Evidence) -> EvidenceView:
        """The view of a row this caller may see: which upload it repeats only for roles
        that see flags."""
        sees_flags = Permission.EVIDENCE_FLAGS in GRANTS[self.principal.role]
        return EvidenceView.of(evidence, with_duplicates=sees_flags, flags=self._flags(evidence))

    def _flags(self, evidence: Evidence) -> builtins.list[Flag]:
        """The flags this caller is told.  A duplicate found in another district is for the
        state's auditors only: told to the uploader, it would answer "has another district
        claimed this student?" for any student id (no oracle across districts)."""
        if Permission.EVIDENCE_FLAGS in GRANTS[self.principal.role]:
            return list(evidence.flags)
        hidden = {
            flag for flag, earlier in ((Flag.DUPLICATE_CLAIM, evidence.duplicate_claim_of),
                                       (Flag.DUPLICATE_IMAGE, evidence.duplicate_image_of))
            if earlier and self._district_of(earlier) != evidence.district
        }  # fmt: skip
        return [flag for flag in evidence.flags if flag not in hidden]

    def _district_of(self, evidence_id: str) -> str | None:
        return self.session.exec(
            select(Evidence.district).where(Evidence.id == evidence_id)
        ).first()

    def _visible(self, evidence_id: str) -> Evidence:
        evidence = self.session.get(Evidence, evidence_id) if EVIDENCE_ID.fullmatch(
            evidence_id or ""
        ) else None  # fmt: skip
        if evidence is None or not self._may_see(evidence):
            raise NotFound(f"no evidence {evidence_id[:40]!r}")
        return evidence

    def _may_see(self, evidence: Evidence) -> bool:
        return may_see_evidence(self.principal, state=evidence.state, district=evidence.district)


def _again(refusal: EvidenceRefused) -> EvidenceRefused:
    """The same refusal for another line of a bulk upload (each line keeps its own event)."""
    return EvidenceRefused(str(refusal), code=refusal.code, field=refusal.field or "file")


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _filtered(query, search, school_code, credential_code, since, until, index):
    """The list's optional filters (each exact, so each can use an index); a student id is
    looked up by its blind index (`index`), the column itself being sealed."""
    if search:
        text = search.strip()
        query = query.where(
            (col(Evidence.state_student_id_bidx) == index(text))
            | (col(Evidence.school_code) == text)
            | (col(Evidence.credential_code) == text.upper())
        )  # fmt: skip
    if school_code:
        query = query.where(Evidence.school_code == school_code)
    if credential_code:
        query = query.where(Evidence.credential_code == credential_code.upper())
    start, end = day_span(since, until)
    if start is not None:
        query = query.where(col(Evidence.created_at) >= start)
    if end is not None:
        query = query.where(col(Evidence.created_at) < end)
    return query
