"""Parties to data-sharing agreements."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import credx.database  # noqa: F401  (naming convention before any table)
from credx.clock import utcnow


class VendorBase(SQLModel):
    id: str = Field(primary_key=True, max_length=64, description="Short stable slug, e.g. nccer")
    name: str = Field(max_length=200)


class Vendor(VendorBase, table=True):
    """A credentialing vendor (certifying body or its testing provider)."""

    __tablename__ = "vendors"

    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
