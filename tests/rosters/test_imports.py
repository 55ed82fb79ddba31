"""Roster import on both backends: good rows loaded, bad rows kept with reasons."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlmodel import col, select

from access.scope import Scope, scoped_session
from eventlog.log import EventLog
from eventlog.models import Event
from kernel.database import session_scope
from kernel.errors import InvalidInput
from rosters.imports import import_roster, roster_rejections
from rosters.models import RosterImport, RosterStudent
from schemas.rosters import CodeSets, load_code_sets
from tests.factories import write_file
from tests.rosters.factories import roster_csv, roster_row, schools_csv

TODAY = date(2026, 1, 15)


def run(app, path, tmp_path, *, schools=True, codes=None, state="LA"):
    return import_roster(
        app, path, state=state, school_year="2025-26", actor="test", codes=codes or CodeSets(),
        schools=schools_csv(tmp_path) if schools else None, today=TODAY,
    )  # fmt: skip


def students(app) -> list[RosterStudent]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(RosterStudent).order_by(col(RosterStudent.row_number))))


def rejected(app, import_id: int) -> list[tuple[int | None, str | None, str]]:
    with session_scope(app.engine) as session:
        return [(r.row_number, r.column, r.reason) for r in roster_rejections(session, import_id)]


def test_good_rows_are_loaded_typed(app, tmp_path):
    path = roster_csv(tmp_path, [roster_row(1), roster_row(2, grade="09", pathway_code="")])
    outcome = run(app, path, tmp_path)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 2, 0)
    first, second = students(app)
    assert first.first_name == "José" and first.last_name == "O'Brien"
    assert first.birth_date == date(2008, 3, 14) and first.graduation_cohort == 2026
    assert first.economically_disadvantaged is True and first.english_learner is False
    assert (first.state, first.school_year) == ("LA", "2025-26")
    assert second.grade == "09" and second.pathway_code is None


def test_the_original_is_kept_encrypted(app, tmp_path):
    path = roster_csv(tmp_path, [roster_row(1)])
    outcome = run(app, path, tmp_path)
    with session_scope(app.engine) as session:
        record = session.get(RosterImport, outcome.import_id)
        assert app.vault(session).read_bytes(record.blob_id) == path.read_bytes()
    stored = b"".join(p.read_bytes() for p in app.settings.home.rglob("*") if p.is_file())
    assert b"O'Brien" not in stored.replace(path.read_bytes(), b"")


def test_duplicate_ids_reject_every_copy(app, tmp_path):
    rows = [roster_row(1), roster_row(2), roster_row(1, first_name="Ana")]
    outcome = run(app, roster_csv(tmp_path, rows), tmp_path)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 1, 2,
    )  # fmt: skip
    reasons = rejected(app, outcome.import_id)
    assert [(r, c) for r, c, _ in reasons] == [(1, "state_student_id"), (3, "state_student_id")]
    assert "rows 1, 3" in reasons[0][2]


def test_unknown_school_and_codes_are_rejected_with_reasons(app, tmp_path):
    rows = [
        roster_row(1, school_code="S9"),
        roster_row(2, district_code="D2", school_code="S2"),  # S2 is in D1, not D2
        roster_row(3, gender="Z", race_ethnicity="WHITE", disability="maybe", grade="13"),
        roster_row(4, graduation_cohort="26", birth_date="2008-02-30"),
        roster_row(5),
    ]
    outcome = run(app, roster_csv(tmp_path, rows), tmp_path)
    assert outcome.rows_loaded == 1 and outcome.rows_rejected == 4
    reasons = {(r, c): why for r, c, why in rejected(app, outcome.import_id)}
    assert "unknown school" in reasons[(1, "school_code")]
    assert "unknown school" in reasons[(2, "school_code")]
    assert "F, M, X" in reasons[(3, "gender")]
    assert "race/ethnicity" in reasons[(3, "race_ethnicity")]
    assert reasons[(3, "disability")] == "must be Y or N"
    assert "grade" in reasons[(3, "grade")]
    assert "year" in reasons[(4, "graduation_cohort")]
    assert "no such day" in reasons[(4, "birth_date")]


def test_code_sets_are_configurable(app, tmp_path):
    sets = write_file(tmp_path, "codes.toml", 'gender = ["W", "M"]\npathway = ["HLTH"]\n')
    rows = [roster_row(1, gender="W", pathway_code="HLTH"), roster_row(2, gender="F")]
    outcome = run(app, roster_csv(tmp_path, rows), tmp_path, codes=load_code_sets(sets))
    assert outcome.rows_loaded == 1
    assert sorted((r, c) for r, c, _ in rejected(app, outcome.import_id)) == [
        (2, "gender"), (2, "pathway_code"),
    ]  # fmt: skip


def test_code_set_file_with_an_unknown_set_is_refused(tmp_path):
    sets = write_file(tmp_path, "codes.toml", 'sex = ["F"]\n')
    with pytest.raises(InvalidInput, match="unknown set"):
        load_code_sets(sets)


def test_parquet_roster(app, tmp_path):
    path = tmp_path / "roster.parquet"
    pd.DataFrame([roster_row(1), roster_row(2)]).to_parquet(path)
    assert run(app, path, tmp_path).rows_loaded == 2


def test_a_file_missing_columns_is_rejected_whole_and_kept(app, tmp_path):
    path = write_file(tmp_path, "roster.csv", "state_student_id,first_name\nA1,Ana\n")
    outcome = run(app, path, tmp_path)
    assert outcome.status == "rejected" and "missing required column" in outcome.error
    assert rejected(app, outcome.import_id)[0][0] is None
    with session_scope(app.engine) as session:
        assert session.get(RosterImport, outcome.import_id).blob_id


def test_no_school_list_refuses_before_storing(app, tmp_path):
    with pytest.raises(InvalidInput, match="no school list for LA"):
        run(app, roster_csv(tmp_path, [roster_row(1)]), tmp_path, schools=False)
    with session_scope(app.engine) as session:
        assert session.exec(select(RosterImport)).first() is None


def test_schools_are_per_state(app, tmp_path):
    run(app, roster_csv(tmp_path, [roster_row(1)]), tmp_path, state="LA")
    with pytest.raises(InvalidInput, match="no school list for TN"):
        run(app, roster_csv(tmp_path, [roster_row(1)]), tmp_path, schools=False, state="TN")


def test_bad_school_year_and_state(app, tmp_path):
    path = roster_csv(tmp_path, [roster_row(1)])
    with pytest.raises(InvalidInput, match="2025-26"):
        import_roster(app, path, state="LA", school_year="2025-27", actor="t", codes=CodeSets())
    with pytest.raises(InvalidInput, match="USPS"):
        import_roster(app, path, state="XX", school_year="2025-26", actor="t", codes=CodeSets())


def test_the_event_log_has_counts_never_students(app, tmp_path):
    outcome = run(app, roster_csv(tmp_path, [roster_row(1), roster_row(1)]), tmp_path)
    with session_scope(app.engine) as session:
        events = list(session.exec(select(Event)))
        assert EventLog(session).verify()[1] is None
    imported = [e for e in events if e.action == "roster:file:imported"]
    assert len(imported) == 1 and imported[0].subject == f"roster:{outcome.import_id}"
    assert '"rows_rejected":2' in imported[0].payload
    payloads = " ".join(e.payload for e in events)
    for pii in ("LA000001", "José", "O'Brien", "2008-03-14"):
        assert pii not in payloads


def test_a_states_scoped_session_sees_only_its_own_roster(app, tmp_path):
    run(app, roster_csv(tmp_path, [roster_row(1), roster_row(2)]), tmp_path, state="LA")
    run(app, roster_csv(tmp_path, [roster_row(3)]), tmp_path, state="TN")
    for state, expected in (("LA", {"LA"}), ("TN", {"TN"})):
        with scoped_session(app.engine, Scope.for_states([state], "test")) as session:
            seen = session.exec(select(RosterStudent.state)).all()
        assert set(seen) == expected
    assert len(students(app)) == 3


def test_a_crash_mid_load_keeps_the_original_and_logs_the_failure(app, tmp_path, monkeypatch):
    def crash(self, record, path):
        raise RuntimeError("disk went away")

    monkeypatch.setattr("rosters.imports.RosterLoader.load", crash)
    path = roster_csv(tmp_path, [roster_row(1)])
    with pytest.raises(RuntimeError):
        run(app, path, tmp_path)
    with session_scope(app.engine) as session:
        record = session.exec(select(RosterImport)).one()
        assert record.status == "received" and "RuntimeError" in record.error
        assert app.vault(session).read_bytes(record.blob_id) == path.read_bytes()
        failed = session.exec(select(Event).where(Event.action == "roster:file:failed")).one()
        assert failed.subject == f"roster:{record.id}" and "disk went away" not in failed.payload
        assert session.exec(select(RosterStudent)).all() == []
