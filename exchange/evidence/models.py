"""Certificate evidence a district uploaded: the claim, the file's facts, and the flags.

One row per accepted upload.  Refused uploads leave no row (and no blob): only
an event.  The original file and its preview are blobs in the vault (encrypted);
the row holds their ids, never their bytes.
"""

import json
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401
from kernel.clock import utcnow
from kernel.sealing import Sealed, SealedDate, SealedText, install_events


class EvidenceStatus(StrEnum):
    RECEIVED = "received"  # an image or PDF, stored; its content is for an auditor to judge
    # a digital badge whose proof checked out against a key of a trusted issuer
    SIGNATURE_VERIFIED = "signature_verified"


class Flag(StrEnum):
    DUPLICATE_IMAGE = "duplicate_image"  # the same file (sha256) for another student or credential
    DUPLICATE_CLAIM = "duplicate_claim"  # same student, credential and date earned again
    # a badge whose signature holds but whose issuer is not in CREDX_BADGE_TRUSTED_ISSUERS
    # (anyone can mint a did:key): intact, but not proof of who issued it
    BADGE_ISSUER_UNTRUSTED = "badge_issuer_untrusted"


class Evidence(Sealed, SQLModel, table=True):
    """One uploaded proof that a student earned a credential (Ed-Fi: Credential evidence).

    `state` and `district` come from the uploader's token, never from the form.
    `duplicate_image_of` / `duplicate_claim_of` name the earliest earlier upload of
    the same state that this one repeats; they are set once, at upload.
    """

    __tablename__ = "evidence"
    # Listings are "this state's (or district's) uploads, newest first": read backwards
    # along these, a page costs its own rows, not a sort of the whole tenant (bench/scale.py).
    __table_args__ = (
        sa.Index("ix_evidence_state_created_at", "state", "created_at"),
        sa.Index("ix_evidence_state_district_created_at", "state", "district", "created_at"),
    )

    # the claim's student, sealed under the state's evidence field key (kernel.sealing);
    # equality lookups (duplicate claims) use the blind index beside the id
    __sealed__ = ("state_student_id", "student_name", "birth_date")
    __blind__ = {"state_student_id_bidx": "state_student_id"}

    id: str = Field(primary_key=True, max_length=32)
    state: str = Field(max_length=2, index=True)
    district: str = Field(max_length=32, index=True)
    state_student_id: str = Field(sa_type=SealedText("state_student_id"))
    state_student_id_bidx: str | None = Field(default=None, max_length=32, index=True)
    student_name: str = Field(sa_type=SealedText("student_name"))
    birth_date: date = Field(sa_type=SealedDate("birth_date"))
    school_code: str = Field(max_length=16)
    school_year: str = Field(max_length=7)
    graduation_pathway: str = Field(max_length=100)
    credential_code: str = Field(foreign_key="credentials.code", max_length=8)
    date_earned: date
    media_type: str = Field(max_length=40)
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64, index=True)
    blob_id: str = Field(foreign_key="blobs.id", max_length=32)
    preview_blob_id: str | None = Field(default=None, foreign_key="blobs.id", max_length=32)
    status: str = Field(default=EvidenceStatus.RECEIVED, max_length=20, index=True)
    duplicate_image_of: str | None = Field(default=None, max_length=32)
    duplicate_claim_of: str | None = Field(default=None, max_length=32)
    badge: str | None = Field(default=None, sa_type=sa.Text)  # BadgeVerification.as_json()
    uploaded_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))

    def sealing_scope(self) -> str:
        return f"evidence:{self.state}"

    @property
    def flags(self) -> list[Flag]:
        found = []
        if self.duplicate_image_of:
            found.append(Flag.DUPLICATE_IMAGE)
        if self.duplicate_claim_of:
            found.append(Flag.DUPLICATE_CLAIM)
        if self.badge and not json.loads(self.badge).get("issuer_trusted", False):
            found.append(Flag.BADGE_ISSUER_UNTRUSTED)
        return found


install_events(Evidence)
