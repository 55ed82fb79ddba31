"""Exam results, district uploads and roster rows link into one person each.

Runs on SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

from sqlmodel import select

from kernel.database import session_scope
from linkage.engine import LinkParameters
from linkage.models import PersonRecord
from linkage.records import describe_records, load_records, states_with_records
from linkage.service import link_new, link_state
from tests.linkage.exams import ingest_records
from tests.linkage.records import rec
from tests.linkage.sources import import_students, student, upload_claim

PARAMS = LinkParameters()
WILLIAM = rec("w", "William", "Thibodeaux", "2008-03-12", state_student_id="LA1000001",
              school_code="S1")  # fmt: skip
OLIVIA = rec("o", "Olivia", "Landry", "2007-04-05", state_student_id="LA1000002",
             school_code="S1")  # fmt: skip


def run(app, *, incremental: bool = False):
    fn = link_new if incremental else link_state
    with session_scope(app.engine) as session:
        return fn(session, state="LA", params=PARAMS, actor="test")


def person_of(app) -> dict[str, str]:
    with session_scope(app.engine) as session:
        return {f"{r.source_type}:{r.source_key}": r.person_id
                for r in session.exec(select(PersonRecord))}  # fmt: skip


def by_type(persons: dict[str, str], source_type: str) -> dict[str, str]:
    return {k: v for k, v in persons.items() if k.startswith(f"{source_type}:")}


def test_an_exam_row_an_upload_and_a_roster_row_become_one_person(app, tmp_path):
    delivery = ingest_records(app, tmp_path, [WILLIAM, OLIVIA])
    evidence = upload_claim(app, tmp_path, "William Thibodaux", "2008-03-12", "LA1000001")
    roster = import_students(app, tmp_path, [
        student(1, "William", "Thibodeaux", "2008-03-12", "LA1000001"),
        student(2, "Emma", "Nguyen", "2009-09-09", "LA1000003"),
    ])  # fmt: skip
    summary = run(app)
    assert (summary.records, summary.persons) == (5, 3)
    persons = person_of(app)
    william = {persons[f"exam:{delivery}:1"], persons[f"evidence:{evidence}"],
               persons[f"roster:{roster}:1"]}  # fmt: skip
    assert len(william) == 1
    others = {persons[f"exam:{delivery}:2"], persons[f"roster:{roster}:2"]}
    assert len(others) == 2 and william.isdisjoint(others)
    with session_scope(app.engine) as session:
        [row] = session.exec(
            select(PersonRecord).where(PersonRecord.source_type == "roster",
                                       PersonRecord.source_key == f"{roster}:1")
        ).all()  # fmt: skip
        assert row.person_id in william


def test_uploads_and_roster_rows_link_incrementally_to_existing_persons(app, tmp_path):
    delivery = ingest_records(app, tmp_path, [WILLIAM, OLIVIA])
    first = run(app)
    before = person_of(app)
    evidence = upload_claim(app, tmp_path, "Bill Thibodeaux", "2008-03-12", "LA1000001")
    roster = import_students(app, tmp_path, [
        student(1, "Olivia", "Landry", "2007-05-04", "LA1000002"),  # day and month swapped
        student(2, "Emma", "Nguyen", "2009-09-09", "LA1000003"),
    ])  # fmt: skip
    summary = run(app, incremental=True)
    assert (summary.kind, summary.records, summary.new_persons) == ("incremental", 3, 1)
    after = person_of(app)
    assert {k: after[k] for k in before} == before  # nothing linked earlier moved
    assert after[f"evidence:{evidence}"] == before[f"exam:{delivery}:1"]
    assert after[f"roster:{roster}:1"] == before[f"exam:{delivery}:2"]
    assert after[f"roster:{roster}:2"] not in set(before.values())
    assert first.persons == 2 and len(set(after.values())) == 3


def test_each_source_is_loaded_and_described_side_by_side(app, tmp_path):
    delivery = ingest_records(app, tmp_path, [WILLIAM])
    evidence = upload_claim(app, tmp_path, "William Earl Thibodeaux Jr.", "2008-03-12",
                            "LA1000001", school_code="S1")  # fmt: skip
    roster = import_students(app, tmp_path, [student(7, "William", "Thibodeaux", "2008-03-12",
                                                     "LA1000001")])  # fmt: skip
    ids = [f"exam:{delivery}:1", f"evidence:{evidence}", f"roster:{roster}:1"]
    with session_scope(app.engine) as session:
        assert states_with_records(session) == ["LA"]
        frame = load_records(session, "LA").set_index("record_id")
        shown = describe_records(session, [*ids, "roster:999:1", "evidence:nope", "exam:x"])
    assert sorted(frame.index) == sorted(ids)
    upload = frame.loc[f"evidence:{evidence}"]
    assert (upload.first_name, upload.middle_name, upload.last_name) == (
        "William", "Earl", "Thibodeaux")  # fmt: skip
    assert (upload.source, upload.district_code) == ("district:036", "036")
    assert frame.loc[f"roster:{roster}:1"].source == "roster:2025-26"
    assert sorted(shown) == sorted(ids)  # unknown and malformed ids name nothing
    assert {tuple(sorted(fields)) for fields in shown.values()} == {tuple(sorted(shown[ids[0]]))}
    assert shown[ids[1]]["full_name"] == "William Earl Thibodeaux Jr."
    assert (shown[ids[1]]["source_type"], shown[ids[1]]["birth_date"]) == ("evidence", "2008-03-12")
    assert shown[ids[2]]["school_year"] == "2025-26" and shown[ids[2]]["school_code"] == "S1"
    assert shown[ids[0]]["source"] == "nccer" and shown[ids[0]]["last_name"] == "Thibodeaux"


def test_a_state_with_only_uploads_and_roster_rows_is_linked(app, tmp_path):
    from linkage.service import link_states

    evidence = upload_claim(app, tmp_path, "Olivia Landry", "2007-04-05", "LA1000002")
    roster = import_students(app, tmp_path, [student(1, "Olivia", "Landry", "2007-04-05",
                                                     "LA1000002")])  # fmt: skip
    with session_scope(app.engine) as session:
        [summary] = link_states(session, states=None, params=PARAMS, actor="test")
    assert (summary.state, summary.records, summary.persons) == ("LA", 2, 1)
    persons = person_of(app)
    assert persons[f"evidence:{evidence}"] == persons[f"roster:{roster}:1"]
