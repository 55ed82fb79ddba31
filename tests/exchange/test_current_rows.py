"""Issue 18's re-send figure: rows a vendor re-sends unchanged are recognised by their row
token before they are written (`exchange.current_rows`), in the checking thread and in the
forked checker alike, and the SQL settling stays the authority for anything that check
misses."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from exchange import ingest
from exchange.current_rows import CurrentRows
from exchange.deliveries import ingest_file
from exchange.models import ExamResult
from tests.factories import csv_text, exam_rows, make_vendor, results_of, write_file


def corrected(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Four rows changed, each in another kind of column: a date, a sealed name, a sealed
    value removed, a number."""
    changed = [dict(r) for r in rows]
    changed[0]["exam_date"] = (
        date.fromisoformat(rows[0]["exam_date"]) - timedelta(days=1)
    ).isoformat()
    changed[1]["first_name"] = rows[1]["first_name"] + "e"
    changed[2]["middle_name"] = "" if rows[2]["middle_name"] else "Lee"
    changed[3]["score"] = str(int(rows[3]["score"] or "50") + 1)
    return changed


def load_twice(app, tmp_path) -> tuple:
    make_vendor(app)
    rows = exam_rows(40)
    first = ingest_file(app, write_file(tmp_path, "day1.csv", csv_text(rows)), "nccer", actor="t")
    again = write_file(tmp_path, "day1-again.csv", csv_text(corrected(rows)))
    return first, ingest_file(app, again, "nccer", actor="t")


@pytest.mark.parametrize("checker", ["thread", "forked"])
def test_unchanged_rows_are_left_out_before_writing(app, tmp_path, monkeypatch, checker):
    if checker == "forked":  # every file is checked in the second process
        monkeypatch.setattr(app.settings, "ingest_parallel_min_bytes", 0)
    written: dict[int, int] = {}  # delivery -> exam results written
    real = ingest.insert_columns

    def counting(connection, table, data):
        if table.name == "exam_results" and data["sealed_row"]:
            delivery = data["delivery_id"][0]
            written[delivery] = written.get(delivery, 0) + len(data["sealed_row"])
        return real(connection, table, data)

    monkeypatch.setattr(ingest, "insert_columns", counting)  # the writer is in this process
    first, second = load_twice(app, tmp_path)
    assert first.rows_loaded == 40
    assert (second.rows_loaded, second.rows_superseded, second.rows_unchanged) == (40, 4, 36)
    assert sorted(r.row_number for r in results_of(app, second.delivery_id)) == [1, 2, 3, 4]
    assert second.agreements == first.agreements
    assert written == {first.delivery_id: 40, second.delivery_id: 4}


def test_the_sql_settles_what_the_early_check_does_not_see(app, tmp_path, monkeypatch):
    monkeypatch.setattr(CurrentRows, "of_vendor", classmethod(lambda cls, *args: None))
    _, second = load_twice(app, tmp_path)
    assert (second.rows_superseded, second.rows_unchanged) == (4, 36)
    assert len(results_of(app, second.delivery_id)) == 4


def test_a_forked_checker_and_the_writer_together_seal_every_student_value(
    app, tmp_path, monkeypatch
):
    """The forked checker seals a share of the rows and the writing parent the rest: none may
    reach the database in clear, and every row token opens into its own row's values."""
    monkeypatch.setattr(app.settings, "ingest_parallel_min_bytes", 0)
    first, _ = load_twice(app, tmp_path)
    names = ", ".join(ExamResult.__sealed__)
    with app.engine.connect() as connection:
        query = f"SELECT {names}, sealed_digest, sealed_row FROM exam_results WHERE delivery_id = "
        stored = connection.exec_driver_sql(query + str(first.delivery_id)).all()
    assert len(stored) == 40
    assert all(v is None for row in stored for v in row[:-1])  # the values are in the token
    assert all(bytes(row[-1]).startswith(b"r1.") for row in stored)
    opened = {(r.vendor_record_id, r.first_name) for r in results_of(app, first.delivery_id)}
    assert opened == {(row["vendor_record_id"], row["first_name"]) for row in exam_rows(40)}


def test_a_resend_checked_before_the_current_rows_are_read_is_compared_after(
    app, tmp_path, monkeypatch
):
    """The checker does not wait for the vendor's current rows: batches that arrive before
    they are read are held back, then compared like the rest (`ingest.compared`)."""
    monkeypatch.setattr(app.settings, "ingest_parallel_min_bytes", 0)
    monkeypatch.setattr(app.settings, "ingest_batch_rows", 8)
    arrived, read = threading.Event(), CurrentRows.of_vendor.__func__

    def slow_read(cls, *args):
        assert arrived.wait(30)  # three batches are checked before the current rows are read
        return read(cls, *args)

    def counted(*args):
        loads.append(args)
        for number, batch in enumerate(real_checker(*args), start=1):
            if len(loads) == 2 and number == 3:  # the re-send's third batch
                arrived.set()
            yield batch

    real_checker, held_back, loads = ingest.checked_in_child, [], []
    real_compare = ingest._without_unchanged
    monkeypatch.setattr(CurrentRows, "of_vendor", classmethod(slow_read))
    monkeypatch.setattr(ingest, "checked_in_child", counted)
    monkeypatch.setattr(ingest, "_without_unchanged",
                        lambda batches, held: held_back.append(len(batches))
                        or real_compare(batches, held))  # fmt: skip

    _, second = load_twice(app, tmp_path)

    assert held_back[0] >= 3 and all(waiting <= 1 for waiting in held_back[1:])
    assert (second.rows_loaded, second.rows_superseded, second.rows_unchanged) == (40, 4, 36)
    assert sorted(r.row_number for r in results_of(app, second.delivery_id)) == [1, 2, 3, 4]
