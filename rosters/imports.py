"""Importing a state's roster: stored encrypted, validated row by row, loaded or rejected.

As for vendor deliveries, the original is stored through the vault and
recorded first (committed before any parsing), then every row ends either in
`rosters` or, with a reason per cell, in `rejected_roster_rows`.  Beyond the
schema, a roster row is rejected when:

- its `state_student_id` appears on more than one row of the file: *every*
  copy is rejected (credx cannot know which one is right; the state sends the
  student once), each naming the other rows;
- its (`district_code`, `school_code`) is not in the state's school list
  (`rosters.schools`): a typo there would move a student to another school's
  denominator.

Student names, ids and birth dates stay in the database; the event log gets
counts only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from exchange.bulk import insert_columns
from exchange.checking import presented, schema_failures, storable
from exchange.readers import FileRejected
from exchange.resources import Resources
from kernel import sealing, values
from kernel.clock import today as utc_today
from kernel.database import session_scope
from kernel.errors import InvalidInput, NotFound
from kernel.rows import existing, key_of, table_of
from rosters.events import RosterEvent
from rosters.files import read_roster
from rosters.models import RejectedRosterRow, RosterImport, RosterStudent, roster_scope
from rosters.schools import SchoolLoad, known_schools, load_schools
from schemas.rosters import CodeSets, roster_schema, typed_roster_columns


@dataclass(frozen=True)
class RosterOutcome:
    import_id: int
    state: str
    school_year: str
    sha256: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    error: str | None = None
    columns_ignored: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def import_roster(
    app: Resources, path: Path, *, state: str, school_year: str, actor: str, codes: CodeSets,
    schools: Path | None = None, today: date | None = None,
) -> RosterOutcome:  # fmt: skip
    """Receive (committed first, so the original is never lost), then validate and load.

    `schools`, a school-list CSV, is loaded first (`rosters.schools.load_schools`).
    """
    state, school_year = values.state_code(state), values.school_year(school_year)
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    with session_scope(app.engine) as session:
        if schools is not None:
            record_school_load(session, state, schools, actor)
        if not known_schools(session, state):
            raise InvalidInput(
                f"there is no school list for {state}: load one first (CSV with header "
                "district_code,school_code,name)",
                hint="`credx roster import ... --schools FILE`",
            )
        blob = app.vault(session).put_file(path)
        record = RosterImport(
            state=state, school_year=school_year, original_name=path.name[:500], size=blob.size,
            sha256=blob.sha256, blob_id=blob.id, imported_by=actor[:200], status="received",
        )  # fmt: skip
        session.add(record)
    try:
        return _load_received(app, key_of(record), path, actor=actor, codes=codes, today=today)
    except Exception as exc:
        _record_failure(app, key_of(record), actor, exc)
        raise


def _load_received(
    app: Resources, import_id: int, path: Path, *, actor: str, codes: CodeSets, today: date | None
) -> RosterOutcome:
    with session_scope(app.engine) as session:
        record = existing(session, RosterImport, import_id)
        outcome = RosterLoader(session, codes, today or utc_today()).load(record, path)
        state, school_year = record.state, record.school_year
        EventLog(session).record(
            RosterEvent.ROSTER_IMPORTED, f"roster:{record.id}", actor, state=state,
            school_year=school_year, sha256=record.sha256, status=record.status,
            rows_total=record.rows_total, rows_loaded=record.rows_loaded,
            rows_rejected=record.rows_rejected,
        )  # fmt: skip
        return outcome


def _record_failure(app: Resources, import_id: int, actor: str, exc: Exception) -> None:
    """A bug or outage mid-load: the import stays `received` (its original is kept), the log
    says why, and the same file can be imported again."""
    with session_scope(app.engine) as session:
        record = existing(session, RosterImport, import_id)
        record.error = f"loading failed ({type(exc).__name__}); import the file again"
        EventLog(session).record(
            RosterEvent.ROSTER_FAILED, f"roster:{import_id}", actor, error=type(exc).__name__
        )


def record_school_load(session: Session, state: str, path: Path, actor: str) -> SchoolLoad:
    loaded = load_schools(session, state, path)
    EventLog(session).record(
        RosterEvent.SCHOOLS_LOADED, f"schools:{state}", actor, file=path.name, **asdict(loaded)
    )
    return loaded


@dataclass
class RosterLoader:
    session: Session
    codes: CodeSets
    today: date

    def load(self, record: RosterImport, path: Path) -> RosterOutcome:
        try:
            roster = read_roster(path)
        except FileRejected as exc:
            return self._refuse(record, storable(str(exc)))
        frame = roster.frame
        failures = pd.concat(
            [
                schema_failures(roster_schema(self.codes, self.today), frame),
                _duplicates(frame),
                _unknown_schools(frame, known_schools(self.session, record.state)),
            ],
            ignore_index=True,
        ).drop_duplicates(subset=["row_number", "canonical"], keep="first")
        good = frame[~frame.index.isin(failures["row_number"])]
        connection = self.session.connection()
        keys = sealing.keys_of(self.session.get_bind())
        insert_columns(connection, table_of(RosterStudent), _student_columns(record, good, keys))
        insert_columns(
            connection, table_of(RejectedRosterRow),
            _rejection_columns(key_of(record), presented(failures, roster.headers), keys),
        )  # fmt: skip
        record.rows_total, record.rows_loaded = len(frame), len(good)
        record.rows_rejected = len(frame) - len(good)
        record.status = _status(record)
        self.session.flush()
        return outcome_of(record, roster.ignored)

    def _refuse(self, record: RosterImport, reason: str) -> RosterOutcome:
        record.status, record.error = "rejected", reason
        self.session.add(RejectedRosterRow(import_id=key_of(record), reason=reason))
        self.session.flush()
        return outcome_of(record)


def _status(record: RosterImport) -> str:
    if record.rows_rejected == 0:
        return "loaded"
    return "rejected" if record.rows_loaded == 0 else "partially_loaded"


def outcome_of(record: RosterImport, ignored: list[str] | None = None) -> RosterOutcome:
    return RosterOutcome(
        import_id=key_of(record), state=record.state, school_year=record.school_year,
        sha256=record.sha256, status=record.status, rows_total=record.rows_total,
        rows_loaded=record.rows_loaded, rows_rejected=record.rows_rejected, error=record.error,
        columns_ignored=ignored or [],
    )  # fmt: skip


def _failure_frame(rows: pd.Index, column: str, values: pd.Series, reasons: list[str]):
    return pd.DataFrame({
        "row_number": rows.astype("int64"), "canonical": column,
        "value": values.astype(object).to_numpy(), "reason": reasons,
    })  # fmt: skip


def _duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Every copy of a repeated state student id, each naming the rows it shares it with."""
    ids = frame["state_student_id"]
    repeated = ids.notna() & ids.duplicated(keep=False)
    rows_of = {sid: list(group.index) for sid, group in ids[repeated].groupby(ids[repeated])}
    reasons = [
        "state_student_id appears on rows "
        + ", ".join(str(r) for r in rows_of[sid])
        + " of this roster; every copy is rejected: send each student once"
        for sid in ids[repeated]
    ]
    return _failure_frame(frame.index[repeated], "state_student_id", ids[repeated], reasons)


def _unknown_schools(frame: pd.DataFrame, schools: frozenset[tuple[str, str]]) -> pd.DataFrame:
    pairs = list(zip(frame["district_code"], frame["school_code"], strict=True))
    unknown = pd.Series(
        [d is not None and s is not None and (d, s) not in schools for d, s in pairs],
        index=frame.index,
    )
    reasons = [
        f"unknown school: district {d} school {s} is not in the state's school list "
        "(check the codes, or add the school with `--schools FILE`)"
        for (d, s), bad in zip(pairs, unknown, strict=True)
        if bad
    ]
    schools = frame["school_code"][unknown]
    return _failure_frame(frame.index[unknown], "school_code", schools, reasons)


def _student_columns(
    record: RosterImport, good: pd.DataFrame, keys: sealing.FieldKeys
) -> dict[str, list]:
    data: dict[str, list] = {
        "import_id": [record.id] * len(good), "row_number": good.index.tolist(),
        "state": [record.state] * len(good), "school_year": [record.school_year] * len(good),
    }  # fmt: skip
    data.update(typed_roster_columns(good))
    for column in RosterStudent.__sealed__:  # names and ids sealed before they are written
        seal = sealing.sealer(keys, roster_scope(record.state), column)
        data[column] = [seal(None if v is None else str(v)) for v in data[column]]
    return data


def _rejection_columns(
    import_id: int, shown: pd.DataFrame, keys: sealing.FieldKeys
) -> dict[str, list]:
    seal = sealing.sealer(keys, f"roster-import:{import_id}", "value")
    return {
        "import_id": [import_id] * len(shown),
        "row_number": shown["row_number"].tolist(),
        "column": shown["column"].tolist(),
        "value": [seal(storable(v)) for v in shown["value"].tolist()],
        "reason": shown["reason"].tolist(),
    }


def get_import(session: Session, import_id: int) -> RosterImport:
    record = session.get(RosterImport, import_id)
    if record is None:
        raise NotFound(f"no roster import {import_id}", hint="see `credx roster list`")
    return record


def roster_rejections(session: Session, import_id: int) -> list[RejectedRosterRow]:
    get_import(session, import_id)
    return list(
        session.exec(
            select(RejectedRosterRow)
            .where(RejectedRosterRow.import_id == import_id)
            .order_by(col(RejectedRosterRow.row_number).nulls_first(), col(RejectedRosterRow.id))
        )
    )


def list_imports(session: Session, state: str | None = None, limit: int = 50) -> list[RosterImport]:
    query = select(RosterImport).order_by(col(RosterImport.id).desc()).limit(limit)
    if state:
        query = query.where(RosterImport.state == values.state_code(state))
    return list(session.exec(query))
