"""The resolved terms of an agreement: what the ingest, the query layer and the purge obey.

A `Terms` is what an agreement document means once a consortium template and
a state's overrides are merged.  It is plain data: no database, no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FerpaBasis(StrEnum):
    """The FERPA exception the disclosure rests on (34 CFR 99.31(a))."""

    STUDIES = "studies"  # 99.31(a)(6)
    AUDIT_EVALUATION = "audit_evaluation"  # 99.31(a)(3), 99.35
    DIRECTORY = "directory"  # 99.31(a)(11)
    CONSENT = "consent"  # 99.30


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200)
    role: str | None = Field(default=None, max_length=100)


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    vendor: str
    states: tuple[str, ...]
    effective_from: date
    effective_to: date
    credentials: tuple[str, ...]
    data_elements: tuple[str, ...]
    purpose: str
    ferpa_basis: FerpaBasis
    retention_days: int = Field(ge=0, le=3650)
    contacts: tuple[Contact, ...] = ()
    connector: str | None = None
    mapping: dict | None = None
    template: str | None = None
    template_version: int | None = None  # the template version an adoption was resolved with
    is_template: bool = False

    def in_force(self, day: date) -> bool:
        return not self.is_template and self.effective_from <= day <= self.effective_to

    def destroy_after(self) -> date:
        """The first day on which this agreement's data must be gone."""
        return self.effective_to + timedelta(days=self.retention_days + 1)
