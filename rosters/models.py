"""Roster imports, the students they list, their rejected rows, and each state's schools."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.database import StateScoped


class RosterImport(SQLModel, table=True):
    """One roster file a state sent for a school year; the original is kept encrypted."""

    __tablename__ = "roster_imports"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=2, index=True)
    school_year: str = Field(max_length=7)
    original_name: str = Field(max_length=500)
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    blob_id: str = Field(foreign_key="blobs.id", max_length=32)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    imported_by: str = Field(max_length=200)
    status: str = Field(max_length=20)  # loaded | partially_loaded | rejected
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)


class RosterStudent(StateScoped, SQLModel, table=True):
    """A student as the state's roster lists them (Ed-Fi: Student, StudentSchoolAssociation).

    Keyed like exam results by where it came from: (import, row number).
    """

    __tablename__ = "rosters"

    import_id: int = Field(foreign_key="roster_imports.id", primary_key=True)
    row_number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    state: str = Field(max_length=2, index=True)
    school_year: str = Field(max_length=7)
    state_student_id: str = Field(max_length=32, index=True)
    first_name: str = Field(max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    last_name: str = Field(max_length=100)
    birth_date: date
    district_code: str = Field(max_length=16)
    school_code: str = Field(max_length=16)
    grade: str = Field(max_length=8)
    graduation_cohort: int
    pathway_code: str | None = Field(default=None, max_length=32)
    gender: str = Field(max_length=16)
    race_ethnicity: str = Field(max_length=16)
    economically_disadvantaged: bool
    english_learner: bool
    disability: bool


class RejectedRosterRow(SQLModel, table=True):
    """One reason one roster row (or the whole file, row_number NULL) was not loaded."""

    __tablename__ = "rejected_roster_rows"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="roster_imports.id", index=True)
    row_number: int | None = None
    column: str | None = Field(default=None, max_length=100)
    value: str | None = Field(default=None, sa_type=sa.Text)
    reason: str = Field(sa_type=sa.Text)


class School(SQLModel, table=True):
    """A school a state reports on: roster rows naming any other school are rejected."""

    __tablename__ = "schools"

    state: str = Field(max_length=2, primary_key=True)
    district_code: str = Field(max_length=16, primary_key=True)
    school_code: str = Field(max_length=16, primary_key=True)
    name: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
