"""Source records in canonical form: one loader per kind of source.

A record's id is `<source type>:<source key>`: `exam:12:7` is row 7 of
delivery 12, `evidence:<evidence id>` a district's certificate claim,
`roster:3:41` row 41 of roster import 3 (audits and reports rely on exactly
these ids).  Each source is one loader registered in `SOURCES`: it returns
the canonical columns for one state's records.  The loaders import pandas when they run:
the web's review pages import this module for `describe_records` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from exchange.corrections import CURRENT
from exchange.evidence.models import Evidence
from exchange.models import Delivery, ExamResult
from exchange.sealed_rows import opened_columns
from linkage.columns import CANONICAL_COLUMNS
from linkage.names import split_full_name
from rosters.models import RosterStudent

if TYPE_CHECKING:
    import pandas as pd

Loader = Callable[[Session, str], "pd.DataFrame"]


def record_id(source_type: str, source_key: str) -> str:
    return f"{source_type}:{source_key}"


def split_record_id(value: str) -> tuple[str, str]:
    source_type, _, source_key = value.partition(":")
    return source_type, source_key


def exam_results(session: Session, state: str) -> pd.DataFrame:
    """Vendor candidate records: one record per exam result row; source = the vendor."""
    import pandas as pd

    query = (
        select(  # type: ignore[call-overload]  # model attributes typed as values
            ExamResult.delivery_id,
            ExamResult.row_number,
            ExamResult.first_name,
            ExamResult.middle_name,
            ExamResult.last_name,
            ExamResult.birth_date,
            ExamResult.state_student_id,
            Delivery.vendor_id,
            ExamResult.candidate_id,
            ExamResult.state,
            ExamResult.district_code,
            ExamResult.school_code,
            ExamResult.sealed_row,
            ExamResult.vendor_record_id,
        )
        .join(Delivery, col(Delivery.id) == col(ExamResult.delivery_id))
        .where(ExamResult.state == state, CURRENT)
        .order_by(col(ExamResult.delivery_id), col(ExamResult.row_number))
    )
    rows = session.exec(query).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "delivery_id",
            "row_number",
            "first_name",
            "middle_name",
            "last_name",
            "birth_date",
            "state_student_id",
            "source",
            "source_person_id",
            "state",
            "district_code",
            "school_code",
            "sealed_row",
            "vendor_record_id",
        ],
    )
    # the sealed values: from each row's token (candidate_id is the source's person id here)
    names = {"candidate_id": "source_person_id"}
    legacy = {name: frame[names.get(name, name)].tolist() for name in ExamResult.__sealed__}
    opened = opened_columns(frame.pop("sealed_row").tolist(),
                            frame.pop("vendor_record_id").tolist(), legacy)  # fmt: skip
    for name, values in opened.items():
        frame[names.get(name, name)] = pd.Series(values, index=frame.index, dtype=object)
    frame["record_id"] = [
        record_id("exam", f"{d}:{r}")
        for d, r in zip(frame["delivery_id"], frame["row_number"], strict=True)
    ]
    return _canonical(frame)


def evidence_claims(session: Session, state: str) -> pd.DataFrame:
    """District uploads: one record per certificate claim; source = the uploading district.

    The claim names the student in one string, split by `linkage.names`.
    """
    import pandas as pd

    query = (
        select(  # type: ignore[call-overload]  # model attributes typed as values
            Evidence.id,
            Evidence.student_name,
            Evidence.birth_date,
            Evidence.state_student_id,
            Evidence.district,
            Evidence.state,
            Evidence.school_code,
        )
        .where(Evidence.state == state)
        .order_by(col(Evidence.id))
    )
    rows = session.exec(query).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "student_name",
            "birth_date",
            "state_student_id",
            "district_code",
            "state",
            "school_code",
        ],
    )
    parts = [split_full_name(name) for name in frame["student_name"]]
    frame["first_name"] = [p.first_name for p in parts]
    frame["middle_name"] = [p.middle_name for p in parts]
    frame["last_name"] = [p.last_name for p in parts]
    frame["source"] = [f"district:{d}" for d in frame["district_code"]]
    frame["record_id"] = [record_id("evidence", str(i)) for i in frame["id"]]
    return _canonical(frame)


def roster_rows(session: Session, state: str) -> pd.DataFrame:
    """The state's rosters: one record per loaded roster row; source = `roster:<school year>`."""
    import pandas as pd

    query = (
        select(  # type: ignore[call-overload]  # model attributes typed as values
            RosterStudent.import_id,
            RosterStudent.row_number,
            RosterStudent.first_name,
            RosterStudent.middle_name,
            RosterStudent.last_name,
            RosterStudent.birth_date,
            RosterStudent.gender,
            RosterStudent.state_student_id,
            RosterStudent.school_year,
            RosterStudent.state,
            RosterStudent.district_code,
            RosterStudent.school_code,
        )
        .where(RosterStudent.state == state)
        .order_by(col(RosterStudent.import_id), col(RosterStudent.row_number))
    )
    rows = session.exec(query).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "import_id",
            "row_number",
            "first_name",
            "middle_name",
            "last_name",
            "birth_date",
            "gender",
            "state_student_id",
            "school_year",
            "state",
            "district_code",
            "school_code",
        ],
    )
    frame["source"] = [f"roster:{year}" for year in frame["school_year"]]
    frame["record_id"] = [
        record_id("roster", f"{i}:{r}")
        for i, r in zip(frame["import_id"], frame["row_number"], strict=True)
    ]
    return _canonical(frame)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    for column in CANONICAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[list(CANONICAL_COLUMNS)]


SOURCES: dict[str, Loader] = {
    "exam": exam_results,
    "evidence": evidence_claims,
    "roster": roster_rows,
}


def states_with_records(session: Session) -> list[str]:
    """Every state any source holds records for (linking runs per state)."""
    found: set[str] = set()
    for column in (ExamResult.state, Evidence.state, RosterStudent.state):
        found.update(session.exec(select(column).distinct()))
    return sorted(found)


def load_records(session: Session, state: str) -> pd.DataFrame:
    import pandas as pd

    frames = [loader(session, state) for loader in SOURCES.values()]
    return pd.concat(frames, ignore_index=True) if frames else _canonical(pd.DataFrame())


def describe_records(session: Session, ids: list[str]) -> dict[str, dict]:
    """The fields of the named records (for review and `link show`), keyed by record id.

    Every record has the same keys, so a page or table can show any two side by side;
    a record whose source row is gone (purged) is left out.
    """
    wanted: dict[str, list[str]] = {}
    for value in ids:
        source_type, key = split_record_id(value)
        wanted.setdefault(source_type, []).append(key)
    found: dict[str, dict] = {}
    for source_type, keys in wanted.items():
        describe = DESCRIBERS.get(source_type)
        if describe is not None:
            found.update(describe(session, keys))
    return found


def _pairs(keys: list[str]) -> list[tuple[int, int]]:
    """`12:7` keys as (12, 7); a malformed key names no record."""
    pairs = []
    for key in keys:
        left, _, right = key.partition(":")
        if left.isdigit() and right.isdigit():
            pairs.append((int(left), int(right)))
    return pairs


def _fields(**values) -> dict:
    blank = dict.fromkeys(DESCRIBED_FIELDS)
    birth = values.get("birth_date")
    return {**blank, **values, "birth_date": birth.isoformat() if birth else None}


DESCRIBED_FIELDS: tuple[str, ...] = (
    "source_type",
    "source",
    "source_person_id",
    "full_name",
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "state_student_id",
    "state",
    "district_code",
    "school_code",
    "credential_code",
    "school_year",
)


def _describe_exams(session: Session, keys: list[str]) -> dict[str, dict]:
    found = {}
    for delivery_id, row_number in _pairs(keys):
        row = session.get(ExamResult, (delivery_id, row_number))
        if row is None:
            continue
        delivery = session.get(Delivery, delivery_id)
        found[record_id("exam", f"{delivery_id}:{row_number}")] = _fields(
            source_type="exam",
            source=delivery.vendor_id if delivery else None,
            source_person_id=row.candidate_id,
            first_name=row.first_name,
            middle_name=row.middle_name,
            last_name=row.last_name,
            birth_date=row.birth_date,
            state_student_id=row.state_student_id,
            state=row.state,
            district_code=row.district_code,
            school_code=row.school_code,
            credential_code=row.credential_code,
        )
    return found


def _describe_evidence(session: Session, keys: list[str]) -> dict[str, dict]:
    rows = session.exec(select(Evidence).where(col(Evidence.id).in_(keys))).all()
    found = {}
    for row in rows:
        parts = split_full_name(row.student_name)
        found[record_id("evidence", row.id)] = _fields(
            source_type="evidence",
            source=f"district:{row.district}",
            full_name=row.student_name,
            **parts._asdict(),
            birth_date=row.birth_date,
            state_student_id=row.state_student_id,
            state=row.state,
            district_code=row.district,
            school_code=row.school_code,
            credential_code=row.credential_code,
            school_year=row.school_year,
        )
    return found


def _describe_rosters(session: Session, keys: list[str]) -> dict[str, dict]:
    found = {}
    for import_id, row_number in _pairs(keys):
        row = session.get(RosterStudent, (import_id, row_number))
        if row is None:
            continue
        found[record_id("roster", f"{import_id}:{row_number}")] = _fields(
            source_type="roster",
            source=f"roster:{row.school_year}",
            first_name=row.first_name,
            middle_name=row.middle_name,
            last_name=row.last_name,
            birth_date=row.birth_date,
            state_student_id=row.state_student_id,
            state=row.state,
            district_code=row.district_code,
            school_code=row.school_code,
            school_year=row.school_year,
        )
    return found


Describer = Callable[[Session, list[str]], dict[str, dict]]
DESCRIBERS: dict[str, Describer] = {
    "exam": _describe_exams,
    "evidence": _describe_evidence,
    "roster": _describe_rosters,
}
