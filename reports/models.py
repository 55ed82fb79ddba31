"""States' priority lists: which credentials count extra, in which tier, with what weight."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401
from kernel.clock import utcnow


class PriorityCredential(SQLModel, table=True):
    """One credential on a state's priority list for a school year.

    Applying a list replaces the state's whole list for that year (the
    document is the truth); `document_sha256` says which document it came from.
    """

    __tablename__ = "priority_credentials"

    state: str = Field(max_length=2, primary_key=True)
    school_year: str = Field(max_length=7, primary_key=True)
    credential_code: str = Field(foreign_key="credentials.code", max_length=8, primary_key=True)
    tier: str = Field(max_length=40)
    weight: float
    document_sha256: str = Field(max_length=64)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
