"""Revision 0016 on a populated installation: `credx init` seals every student value in place,
resumably, and everything reads as before (SQLite and PostgreSQL).

The installation is built at revision 0010 with plaintext rows written by raw
SQL, as an older credx left them: exam results, a rejected row quoting a raw
value, a roster row, an upload's claim and a disclosure list.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from agreements.disclosures import disclosures_of_student
from credx.app import App
from credx.migrations import alembic_config, upgrade
from credx.migrations.sealing import seal_existing
from exchange.evidence.models import Evidence
from exchange.models import ExamResult, RejectedRow
from kernel import sealing
from kernel.database import session_scope
from rosters.models import RosterStudent
from tests.cli import credx

NAMES = [(f"Zéphyrine{n:03d}", f"Quillfeather{n:03d}", f"LA{n:07d}") for n in range(1, 41)]


def at_revision_0010(database_url: str) -> None:
    """The test's (empty, seeded) database taken back to the schema an older credx had."""
    engine = sa.create_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    engine.dispose()


def populate(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    now = "2026-01-05 10:00:00+00:00"
    with engine.begin() as c:
        run = lambda sql, **p: c.execute(sa.text(sql), p)  # noqa: E731
        run("INSERT INTO vendors (id, name, created_at) VALUES ('nccer', 'NCCER', :t)", t=now)
        run("INSERT INTO blobs (id, store_key, sha256, size, master_key_id, created_at) VALUES "
            "('b1', 'k', :s, 1, 'mk-000001-00000000', :t)", s="0" * 64, t=now)  # fmt: skip
        run("INSERT INTO deliveries (id, vendor_id, source, original_name, size, sha256, blob_id, "
            "received_at, status, rows_total, rows_loaded, rows_rejected, summary) VALUES "
            "(1, 'nccer', 'cli', 'old.csv', 1, :s, 'b1', :t, 'loaded', 41, 40, 1, '{}')",
            s="0" * 64, t=now)  # fmt: skip
        for n, (first, last, sid) in enumerate(NAMES, start=1):
            run("INSERT INTO exam_results (delivery_id, row_number, vendor_record_id, "
                "candidate_id, state_student_id, first_name, last_name, birth_date, state, "
                "district_code, credential_code, exam_code, exam_date, result) VALUES "
                "(1, :n, :v, :cand, :sid, :f, :l, :b, 'LA', '036', 'NCCER001', 'CORE', "
                "'2025-05-01', 'pass')", n=n, v=f"R{n}", cand=f"C{n:05d}", sid=sid, f=first,
                l=last, b=date(2008, 1, 1 + n % 28))  # fmt: skip
        run("INSERT INTO rejected_rows (delivery_id, row_number, \"column\", value, reason) "
            "VALUES (1, 41, 'birth_date', 'Zéphyrine999 Quillfeather999 02/30/2008', 'bad')")
        run("INSERT INTO roster_imports (id, state, school_year, original_name, size, sha256, "
            "blob_id, imported_at, imported_by, status, rows_total, rows_loaded, "
            "rows_rejected) VALUES (1, 'LA', '2025-26', 'r.csv', 1, :s, 'b1', :t, 'test', "
            "'loaded', 1, 1, 0)", s="0" * 64, t=now)  # fmt: skip
        run("INSERT INTO rosters (import_id, row_number, state, school_year, state_student_id, "
            "first_name, last_name, birth_date, district_code, school_code, grade, "
            "graduation_cohort, gender, race_ethnicity, economically_disadvantaged, "
            "english_learner, disability) VALUES (1, 1, 'LA', '2025-26', :sid, :f, :l, "
            "'2008-01-02', '036', '001', '12', 2026, 'F', 'W', false, false, false)",
            sid=NAMES[0][2], f=NAMES[0][0], l=NAMES[0][1])  # fmt: skip
        run("INSERT INTO evidence (id, state, district, state_student_id, student_name, "
            "birth_date, school_code, school_year, graduation_pathway, credential_code, "
            "date_earned, media_type, size, sha256, blob_id, status, uploaded_by, created_at) "
            "VALUES ('e1', 'LA', '036', :sid, :name, '2008-01-02', '001', '2025-26', 'CTE', "
            "'NCCER001', '2025-05-01', 'image/png', 1, :s, 'b1', 'received', 'test', :t)",
            sid=NAMES[0][2], name=f"{NAMES[0][0]} {NAMES[0][1]}", s="0" * 64, t=now)  # fmt: skip
        run("INSERT INTO disclosures (id, occurred_at, recipient, purpose, what, data_elements, "
            "record_count) VALUES (1, :t, 'LA DOE', 'audit', 'results', 'all', 1)", t=now)
        run("INSERT INTO disclosure_students (disclosure_id, student_key) VALUES (1, :sid)",
            sid=NAMES[0][2])  # fmt: skip
    engine.dispose()


def raw_dump(database_url: str) -> str:
    """Every value of every table, as stored (no column type opens anything)."""
    engine = sa.create_engine(database_url)
    parts = []
    with engine.connect() as c:
        for table in ("exam_results", "rejected_rows", "rosters", "evidence",
                      "disclosure_students"):  # fmt: skip
            parts += [repr(tuple(r)) for r in c.execute(sa.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return "\n".join(parts)


class Interrupted(Exception):
    pass


def test_init_seals_a_populated_installation_in_place_resumably(settings, cli_env, tmp_path):
    url = settings.database_url
    at_revision_0010(url)
    populate(url)
    assert NAMES[5][0] in raw_dump(url)

    app = App(settings)
    app.keyring.ensure()
    upgrade(app.engine)  # the schema first, as `credx init` does
    calls = []

    def stop_after_first_batch(table: str, done: int) -> None:
        calls.append((table, done))
        raise Interrupted  # the process dies after its first committed batch

    with pytest.raises(Interrupted):
        seal_existing(app.engine, app.field_keys, batch_rows=15, progress=stop_after_first_batch)
    halfway = raw_dump(url)
    assert calls == [("exam_results", 15)]
    assert NAMES[0][0] not in halfway.split("\n")[0] and NAMES[30][0] in halfway

    result = json.loads(credx("init", "--json", env=cli_env).stdout)
    assert result["rows_sealed"]["exam_results"] == 25  # only what was left
    assert result["rows_sealed"]["rosters"] == result["rows_sealed"]["evidence"] == 1
    assert result["rows_sealed"]["disclosure_students"] == 1
    dump = raw_dump(url)
    for first, last, sid in NAMES:
        assert first not in dump and last not in dump and sid not in dump
    assert "Zéphyrine999" not in dump and "2008-01-0" not in dump

    with session_scope(app.engine) as session:
        rows = session.exec(select(ExamResult).order_by(ExamResult.row_number)).all()
        assert [(r.first_name, r.last_name, r.state_student_id) for r in rows] == NAMES
        assert rows[0].birth_date == date(2008, 1, 2)
        [rejected] = session.exec(select(RejectedRow)).all()
        assert rejected.value == "Zéphyrine999 Quillfeather999 02/30/2008"
        [student] = session.exec(select(RosterStudent)).all()
        assert (student.first_name, student.birth_date) == (NAMES[0][0], date(2008, 1, 2))
        [upload] = session.exec(select(Evidence)).all()
        assert upload.student_name == f"{NAMES[0][0]} {NAMES[0][1]}"
        assert upload.state_student_id_bidx == app.field_keys.blind_index(NAMES[0][2])
        assert [d.id for d in disclosures_of_student(session, NAMES[0][2])] == [1]
    again = json.loads(credx("init", "--json", env=cli_env).stdout)
    assert set(again["rows_sealed"].values()) == {0}
    assert raw_dump(url) == dump  # nothing sealed twice
    app.engine.dispose()


def test_init_moves_sealed_values_into_row_tokens_and_leaves_destroyed_ones(app):
    """Revision 0025 on rows sealed value by value (0016-0024): `credx init` moves each row's
    values into its row token, resumably; rows of a destroyed key stay as they are (nothing
    can open them) and are not tried forever; the ORM reads both forms alike."""
    keys = app.field_keys
    populate(app.settings.database_url)  # plaintext rows, as before 0016 (the schema is head)
    names = ExamResult.__sealed__
    with app.engine.begin() as connection:  # seal them value by value, as 0016-0024 did
        rows = connection.execute(sa.text(
            f"SELECT row_number, {', '.join(names)} FROM exam_results ORDER BY row_number"
        )).all()  # fmt: skip
        for row in rows:
            scope = "unassigned:LA" if row.row_number <= 35 else "agreement:gone"
            key_id, cipher = keys.key_for(scope)
            sealed = {c: None if getattr(row, c) is None else sealing.seal(
                cipher, key_id, c, sealing.plain_text(getattr(row, c))) for c in names}
            sealed["n"] = row.row_number
            connection.execute(sa.text(
                f"UPDATE exam_results SET {', '.join(f'{c} = :{c}' for c in names)}, "
                "agreement_id = NULL WHERE row_number = :n"
            ), sealed)  # fmt: skip
    keys.destroy("agreement:gone")  # rows 36-40: a purge's backup restored

    def stop(table: str, done: int) -> None:
        if table == "exam_results":
            raise Interrupted

    with pytest.raises(Interrupted):
        seal_existing(app.engine, keys, batch_rows=20, progress=stop)
    moved = seal_existing(app.engine, keys, batch_rows=20)
    assert moved["exam_results"] == 15  # 20 before the interruption, 15 now, 5 never
    with app.engine.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT row_number, first_name, sealed_row FROM exam_results ORDER BY row_number"
        )).all()  # fmt: skip
    assert all(r.first_name is None and bytes(r.sealed_row)[:3] == b"r1." for r in stored[:35])
    assert all(r.sealed_row is None and r.first_name.startswith("s1.") for r in stored[35:])
    with session_scope(app.engine) as session:
        readable = session.exec(
            select(ExamResult).where(ExamResult.row_number <= 35).order_by(ExamResult.row_number)
        ).all()  # fmt: skip
        assert [(r.first_name, r.last_name, r.state_student_id) for r in readable] == NAMES[:35]
        assert readable[0].birth_date == date(2008, 1, 2)
    assert seal_existing(app.engine, keys)["exam_results"] == 0
