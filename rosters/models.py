"""Roster imports, the students they list, their rejected rows, and each state's schools."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.database import StateScoped
from kernel.sealing import Sealed, SealedDate, SealedText, install_events


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


class RosterStudent(StateScoped, Sealed, SQLModel, table=True):
    """A student as the state's roster lists them (Ed-Fi: Student, StudentSchoolAssociation).

    Keyed like exam results by where it came from: (import, row number).
    """

    __tablename__ = "rosters"
    # sealed under the state's roster field key (kernel.sealing)
    __sealed__ = ("state_student_id", "first_name", "middle_name", "last_name", "birth_date")

    import_id: int = Field(foreign_key="roster_imports.id", primary_key=True)
    row_number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    state: str = Field(max_length=2, index=True)
    school_year: str = Field(max_length=7)
    state_student_id: str = Field(sa_type=SealedText("state_student_id"), index=True)
    first_name: str = Field(sa_type=SealedText("first_name"))
    middle_name: str | None = Field(default=None, sa_type=SealedText("middle_name"))
    last_name: str = Field(sa_type=SealedText("last_name"))
    birth_date: date = Field(sa_type=SealedDate("birth_date"))
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

    def sealing_scope(self) -> str:
        return roster_scope(self.state)


def roster_scope(state: str) -> str:
    """The field-key scope of a state's roster rows and the values its rejections quote."""
    return f"roster:{state}"


class RejectedRosterRow(Sealed, SQLModel, table=True):
    """One reason one roster row (or the whole file, row_number NULL) was not loaded."""

    __tablename__ = "rejected_roster_rows"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="roster_imports.id", index=True)
    row_number: int | None = None
    column: str | None = Field(default=None, max_length=100)
    value: str | None = Field(default=None, sa_type=SealedText("value"))
    reason: str = Field(sa_type=sa.Text)

    __sealed__ = ("value",)

    def sealing_scope(self) -> str:
        return f"roster-import:{self.import_id}"


class School(SQLModel, table=True):
    """A school a state reports on: roster rows naming any other school are rejected."""

    __tablename__ = "schools"

    state: str = Field(max_length=2, primary_key=True)
    district_code: str = Field(max_length=16, primary_key=True)
    school_code: str = Field(max_length=16, primary_key=True)
    name: str = Field(max_length=200)
    district_name: str | None = Field(default=None, max_length=200)  # optional in the import
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


install_events(RosterStudent)
install_events(RejectedRosterRow)
