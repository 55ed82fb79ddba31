"""Parties to data-sharing agreements."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401  (naming convention before any table)
from kernel.clock import utcnow


class VendorBase(SQLModel):
    id: str = Field(primary_key=True, max_length=64, description="Short stable slug, e.g. nccer")
    name: str = Field(max_length=200)


class Vendor(VendorBase, table=True):
    """A credentialing vendor (certifying body or its testing provider)."""

    __tablename__ = "vendors"

    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class Agreement(SQLModel, table=True):
    """A data-sharing agreement (or a consortium template), at its current version.

    `terms` is the JSON of the resolved `agreements.terms.Terms` (template
    merged with the adopting state's overrides); earlier versions stay in
    `agreement_versions`.
    """

    __tablename__ = "agreements"

    id: str = Field(primary_key=True, max_length=64)
    is_template: bool = False
    template_id: str | None = Field(default=None, foreign_key="agreements.id", max_length=64)
    vendor_id: str = Field(foreign_key="vendors.id", index=True, max_length=64)
    title: str = Field(max_length=300)
    version: int = 1
    effective_from: date
    effective_to: date
    terms: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    purged_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AgreementVersion(SQLModel, table=True):
    """Every version ever applied, with the document exactly as reviewed."""

    __tablename__ = "agreement_versions"

    agreement_id: str = Field(foreign_key="agreements.id", primary_key=True, max_length=64)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    document: str = Field(sa_type=sa.Text)
    document_sha256: str = Field(max_length=64)
    terms: str = Field(sa_type=sa.Text)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    applied_by: str = Field(max_length=200)


class DeliveryAgreement(SQLModel, table=True):
    """Which agreements a delivery's rows were taken in under (a file may serve several states)."""

    __tablename__ = "delivery_agreements"

    delivery_id: int = Field(foreign_key="deliveries.id", primary_key=True)
    agreement_id: str = Field(foreign_key="agreements.id", primary_key=True, max_length=64)


class Disclosure(SQLModel, table=True):
    """A release of student-level data (FERPA 34 CFR 99.32): who got what, when, under what."""

    __tablename__ = "disclosures"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    recipient: str = Field(max_length=200)
    agreement_id: str | None = Field(default=None, foreign_key="agreements.id", max_length=64)
    purpose: str = Field(sa_type=sa.Text)
    what: str = Field(sa_type=sa.Text)
    data_elements: str = Field(sa_type=sa.Text)
    record_count: int
    event_seq: int | None = None


class DisclosureStudent(SQLModel, table=True):
    """One student named in a disclosure, for `credx disclosures --student ID`."""

    __tablename__ = "disclosure_students"

    disclosure_id: int = Field(foreign_key="disclosures.id", primary_key=True)
    # blind index (HMAC-SHA256, `kernel.sealing`) of the student's id, never the id itself
    student_key: str = Field(primary_key=True, max_length=140, index=True)
