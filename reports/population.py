"""Who a report counts and what each of them did: rostered students and their attainments.

The roster of the state and school year is the population (every denominator
is drawn from it); exam results and uploads reach a student only through the
record linker's persons (`person_records`), so a student is counted once however
many rows, retakes or uploads name them.  Every query names the state: one
state's report never sees another state's students.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from audit.plans.models import AuditTask, FindingOutcome
from exchange.corrections import CURRENT
from exchange.evidence.models import Evidence
from exchange.models import ExamResult
from kernel.errors import NotFound
from kernel.values import school_year_start
from linkage.models import PersonRecord
from rosters.models import RosterStudent

SUBGROUPS = (
    "gender", "race_ethnicity", "economically_disadvantaged", "english_learner", "disability",
)  # fmt: skip
# what each event means; a student counts once per (event, credential)
SAT, PASSED, VERIFIED, CLAIMED = "sat", "passed", "verified", "claimed"


@dataclass(frozen=True)
class Window:
    """The school year a report is for, and optionally the graduating cohort it follows.

    A school-year report counts exams and uploads of that year; a cohort report
    counts everything the cohort earned up to the end of that year.
    """

    state: str
    school_year: str
    cohort: int | None = None

    @property
    def start(self) -> date:
        return date(school_year_start(self.school_year) or 0, 7, 1)

    @property
    def end(self) -> date:
        return date((school_year_start(self.school_year) or 0) + 1, 6, 30)

    @property
    def graduating_cohort(self) -> int:
        """The class whose size is the "whole graduating class" denominator."""
        return self.cohort if self.cohort is not None else self.end.year

    def covers(self, day: date) -> bool:
        earliest = date.min if self.cohort is not None else self.start
        return earliest <= day <= self.end


@dataclass(frozen=True)
class Student:
    person: str
    state_student_id: str
    district: str
    school: str
    graduation_cohort: int
    pathway: str | None
    gender: str
    race_ethnicity: str
    economically_disadvantaged: bool
    english_learner: bool
    disability: bool


@dataclass
class Population:
    """The students a report counts and their (person, credential, event) facts."""

    window: Window
    students: dict[str, Student]
    events: set[tuple[str, str, str]] = field(default_factory=set)
    unlinked_roster_rows: int = 0
    records_outside_roster: int = 0


def gather(session: Session, window: Window) -> Population:
    """Read the roster, exam results and uploads of `window.state` (nothing else)."""
    population = Population(window, _students(session, window))
    if not population.students:
        raise NotFound(
            _no_roster(window),
            hint=f"`credx roster import FILE --state {window.state} --year {window.school_year}`",
        )
    population.unlinked_roster_rows = sum(
        1 for s in population.students.values() if s.person.startswith("roster:")
    )
    _add_exams(session, population)
    _add_uploads(session, population)
    return population


def _no_roster(window: Window) -> str:
    cohort = f", graduating cohort {window.cohort}" if window.cohort else ""
    return (
        f"no roster students for {window.state} {window.school_year}{cohort}: there is nothing "
        "to report; import the roster first"
    )


def _persons(session: Session, state: str, source_type: str) -> dict[str, str]:
    rows = session.exec(
        select(PersonRecord.source_key, PersonRecord.person_id).where(
            PersonRecord.state == state, PersonRecord.source_type == source_type
        )
    )
    return dict(rows.all())


def _students(session: Session, window: Window) -> dict[str, Student]:
    """One student per person: where a person has several roster rows, the latest import's."""
    query = select(RosterStudent).where(
        RosterStudent.state == window.state, RosterStudent.school_year == window.school_year
    )
    if window.cohort is not None:
        query = query.where(RosterStudent.graduation_cohort == window.cohort)
    linked = _persons(session, window.state, "roster")
    students: dict[str, Student] = {}
    rows = session.exec(query.order_by(col(RosterStudent.import_id), col(RosterStudent.row_number)))
    for row in rows:
        key = f"{row.import_id}:{row.row_number}"
        person = linked.get(key, f"roster:{key}")
        students[person] = _student(person, row)
    return students


def _student(person: str, row: RosterStudent) -> Student:
    return Student(
        person=person, state_student_id=row.state_student_id, district=row.district_code,
        school=row.school_code, graduation_cohort=row.graduation_cohort,
        pathway=row.pathway_code, gender=row.gender, race_ethnicity=row.race_ethnicity,
        economically_disadvantaged=row.economically_disadvantaged,
        english_learner=row.english_learner, disability=row.disability,
    )  # fmt: skip


def _add_exams(session: Session, population: Population) -> None:
    window = population.window
    linked = _persons(session, window.state, "exam")
    rows = session.exec(
        select(  # type: ignore[call-overload]  # model attributes typed as values
            ExamResult.delivery_id, ExamResult.row_number, ExamResult.credential_code,
            ExamResult.result, ExamResult.exam_date,
        ).where(ExamResult.state == window.state, ExamResult.exam_date <= window.end, CURRENT)
    )  # fmt: skip
    for delivery_id, row_number, credential, result, exam_date in rows:
        if not window.covers(exam_date):
            continue
        person = linked.get(f"{delivery_id}:{row_number}")
        if person not in population.students:
            population.records_outside_roster += 1
            continue
        population.events.add((person, credential, SAT))
        if result.upper() == "PASS":  # a pass the vendor reports is vendor-confirmed
            population.events.update(
                (person, credential, event) for event in (PASSED, VERIFIED, CLAIMED)
            )


def _add_uploads(session: Session, population: Population) -> None:
    window = population.window
    linked = _persons(session, window.state, "evidence")
    verified = set(
        session.exec(
            select(AuditTask.evidence_id).where(
                AuditTask.state == window.state,
                AuditTask.final_outcome == FindingOutcome.VERIFIED,
            )
        ).all()
    )
    rows = session.exec(
        select(Evidence.id, Evidence.credential_code, Evidence.school_year).where(
            Evidence.state == window.state
        )
    )
    for evidence_id, credential, school_year in rows:
        if not _in_years(window, school_year):
            continue
        person = linked.get(evidence_id)
        if person not in population.students:
            population.records_outside_roster += 1
            continue
        population.events.add((person, credential, CLAIMED))
        if evidence_id in verified:
            population.events.add((person, credential, VERIFIED))


def _in_years(window: Window, school_year: str) -> bool:
    if window.cohort is None:
        return school_year == window.school_year
    start = school_year_start(school_year)
    return start is not None and start <= (school_year_start(window.school_year) or 0)
