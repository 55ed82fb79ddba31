"""Whole-file problems: what a vendor can get wrong about a file, and what credx keeps of it.

Every test ingests through `ingest_file` and then reads the outcome and the database,
so each runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from sqlmodel import col, func, select

from agreements.mapping import ColumnMapping
from exchange.deliveries import ingest_file
from exchange.models import Delivery, ExamResult, RejectedRow, StoredBlob
from kernel.database import session_scope
from schemas.exam_results import CANONICAL_COLUMNS
from tests.factories import (
    csv_text,
    delivery_of,
    exam_row,
    exam_rows,
    make_vendor,
    rejections_of,
    results_of,
    write_file,
)

ASCII_NAMES = {"first_name": "Ann", "middle_name": "", "last_name": "Lee"}


def ingest(app, path, vendor, mapping=None):
    return ingest_file(app, path, vendor, actor="test", mapping=mapping)


def loaded_rows(app, delivery_id: int) -> dict[int, str]:
    """row_number -> vendor_record_id of the rows that loaded."""
    return {r.row_number: r.vendor_record_id for r in results_of(app, delivery_id)}


def assert_accounted(app, outcome) -> None:
    """Every row is loaded or rejected, and the database agrees with the outcome."""
    assert outcome.rows_loaded + outcome.rows_rejected == outcome.rows_total
    results = results_of(app, outcome.delivery_id)
    rejected = {r.row_number for r in rejections_of(app, outcome.delivery_id)} - {None}
    assert len(results) == outcome.rows_loaded
    assert len(rejected) == outcome.rows_rejected
    assert not rejected & {r.row_number for r in results}
    assert len(results) + len(rejected) == outcome.rows_total


def assert_file_rejected(app, outcome, *fragments: str) -> RejectedRow:
    """The file as a whole was refused: kept, marked rejected, one row-less reason."""
    assert outcome.status == "rejected"
    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (0, 0, 0)
    for fragment in fragments:
        assert fragment in outcome.error
    delivery = delivery_of(app, outcome.delivery_id)
    assert delivery.status == "rejected"
    assert delivery.error == outcome.error
    (reason,) = rejections_of(app, outcome.delivery_id)
    assert reason.row_number is None
    assert reason.reason == outcome.error
    assert results_of(app, outcome.delivery_id) == []
    return reason


def ascii_rows(count: int) -> list[dict[str, str]]:
    return [exam_row(n, **ASCII_NAMES) for n in range(1, count + 1)]


# missing and extra columns --------------------------------------------------------------
def test_missing_required_columns_reject_the_file_but_keep_it(app, tmp_path):
    vendor = make_vendor(app)
    columns = tuple(c for c in CANONICAL_COLUMNS if c not in ("exam_date", "result"))
    path = write_file(tmp_path, "results.csv", csv_text(exam_rows(3), columns))

    outcome = ingest(app, path, vendor)

    reason = assert_file_rejected(app, outcome, "missing required column(s)", "exam_date, result")
    assert reason.column is None and reason.value is None
    with session_scope(app.engine) as session:
        delivery = session.get(Delivery, outcome.delivery_id)
        blob = session.get(StoredBlob, delivery.blob_id)
        assert blob is not None and blob.wrapped_key is not None
        assert app.vault(session).read_bytes(blob.id) == path.read_bytes()
        assert delivery.sha256 == blob.sha256
        assert delivery.original_name == "results.csv"


def test_missing_optional_columns_still_load(app, tmp_path):
    vendor = make_vendor(app)
    columns = tuple(c for c in CANONICAL_COLUMNS if c not in ("score", "attempt", "middle_name"))
    path = write_file(tmp_path, "results.csv", csv_text(exam_rows(4), columns))

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded) == ("loaded", 4, 4)
    results = results_of(app, outcome.delivery_id)
    assert {(r.score, r.attempt, r.middle_name) for r in results} == {(None, None, None)}


def test_a_rejected_file_can_be_sent_again_with_a_mapping_that_fixes_it(app, tmp_path):
    vendor = make_vendor(app)
    columns = tuple("Outcome" if c == "result" else c for c in CANONICAL_COLUMNS)
    rows = [{**r, "Outcome": r["result"]} for r in exam_rows(3)]
    path = write_file(tmp_path, "results.csv", csv_text(rows, columns))
    first = ingest(app, path, vendor)
    assert first.status == "rejected"
    assert "missing required column(s): result." in first.error
    assert "Outcome" in first.error  # the header as received

    second = ingest(app, path, vendor, ColumnMapping(columns={"Outcome": "result"}))

    assert (second.status, second.rows_loaded, second.duplicate_of) == ("loaded", 3, None)
    assert [r.result for r in results_of(app, second.delivery_id)] == [
        r["result"].lower() for r in rows
    ]


def test_extra_columns_are_ignored_and_listed(app, tmp_path):
    vendor = make_vendor(app)
    columns = ("Proctor", *CANONICAL_COLUMNS, "notes")
    rows = [{**r, "Proctor": "P. Smith", "notes": "retake"} for r in exam_rows(5)]
    path = write_file(tmp_path, "results.csv", csv_text(rows, columns))

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded) == ("loaded", 5, 5)
    assert outcome.columns_ignored == ["Proctor", "notes"]
    assert loaded_rows(app, outcome.delivery_id) == {
        n: r["vendor_record_id"] for n, r in enumerate(rows, 1)
    }


def test_canonical_headers_are_matched_ignoring_case_and_spaces(app, tmp_path):
    vendor = make_vendor(app)
    columns = tuple(f" {c.upper()} " for c in CANONICAL_COLUMNS)
    rows = [{f" {k.upper()} ": v for k, v in r.items()} for r in exam_rows(2)]
    path = write_file(tmp_path, "results.csv", csv_text(rows, columns))

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_loaded, outcome.columns_ignored) == ("loaded", 2, [])


def test_a_repeated_header_rejects_the_file(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(
        tmp_path, "results.csv", csv_text(exam_rows(2), (*CANONICAL_COLUMNS, "state"))
    )

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "repeats column(s) state")


# empty, header-only, BOM ----------------------------------------------------------------
def test_an_empty_file_is_rejected(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", b"")

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "empty")
    assert delivery_of(app, outcome.delivery_id).size == 0


def test_a_header_only_file_loads_no_rows(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", csv_text([]))

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded) == ("loaded", 0, 0)
    assert outcome.error is None
    assert results_of(app, outcome.delivery_id) == []
    assert rejections_of(app, outcome.delivery_id) == []


def test_a_header_only_file_without_final_newline_loads_no_rows(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", ",".join(CANONICAL_COLUMNS))

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_total) == ("loaded", 0)


def test_a_utf8_bom_is_not_part_of_the_first_column_name(app, tmp_path):
    vendor = make_vendor(app)
    rows = exam_rows(3)
    path = write_file(tmp_path, "results.csv", "\ufeff" + csv_text(rows))
    assert path.read_bytes().startswith(b"\xef\xbb\xbfvendor_record_id,")

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_loaded, outcome.columns_ignored) == ("loaded", 3, [])
    assert loaded_rows(app, outcome.delivery_id) == {
        n: r["vendor_record_id"] for n, r in enumerate(rows, 1)
    }


def test_a_utf8_bom_with_a_broken_record_still_names_the_first_column(app, tmp_path):
    vendor = make_vendor(app)
    rows = exam_rows(3)
    lines = ("\ufeff" + csv_text(rows)).splitlines()
    lines[2] += ",surplus"
    path = write_file(tmp_path, "results.csv", "\n".join(lines) + "\n")

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 2, 1,
    )  # fmt: skip
    assert loaded_rows(app, outcome.delivery_id) == {1: "V00000001", 3: "V00000003"}


# encodings ------------------------------------------------------------------------------
def latin1_file(tmp_path):
    rows = ascii_rows(3)
    rows[1]["first_name"] = "José"
    rows[2]["last_name"] = "Núñez"
    return write_file(tmp_path, "latin1.csv", csv_text(rows), encoding="latin-1"), rows


def test_latin1_bytes_in_a_utf8_file_reject_it_naming_line_and_byte(app, tmp_path):
    vendor = make_vendor(app)
    path, _ = latin1_file(tmp_path)
    assert b"Jos\xe9" in path.read_bytes()

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "not valid UTF-8", "0xE9", "line 3", "latin-1")


def test_the_same_latin1_file_loads_when_the_mapping_declares_it(app, tmp_path):
    vendor = make_vendor(app)
    path, rows = latin1_file(tmp_path)

    outcome = ingest(app, path, vendor, ColumnMapping(encoding="latin-1"))

    assert (outcome.status, outcome.rows_loaded) == ("loaded", 3)
    results = results_of(app, outcome.delivery_id)
    assert results[1].first_name == "José"
    assert results[2].last_name == "Núñez"
    assert [r.vendor_record_id for r in results] == [r["vendor_record_id"] for r in rows]


def test_a_latin1_file_with_a_broken_record_uses_the_declared_encoding(app, tmp_path):
    vendor = make_vendor(app)
    path, _ = latin1_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"V9,short,Jos\xe9\n")

    outcome = ingest(app, path, vendor, ColumnMapping(encoding="latin-1"))

    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 3, 1,
    )  # fmt: skip
    (problem,) = rejections_of(app, outcome.delivery_id)
    assert (problem.row_number, problem.value) == (4, "V9,short,José")
    assert results_of(app, outcome.delivery_id)[1].first_name == "José"


def test_bytes_undefined_in_the_declared_encoding_reject_the_file(app, tmp_path):
    vendor = make_vendor(app)
    rows = ascii_rows(2)
    rows[1]["last_name"] = "Oxx"
    content = csv_text(rows).encode("cp1252").replace(b"Oxx", b"O\x81x")
    path = write_file(tmp_path, "results.csv", content)

    outcome = ingest(app, path, vendor, ColumnMapping(encoding="cp1252"))

    assert_file_rejected(app, outcome, "not valid cp1252", "0x81", "line 3")


# quoting and record shape ---------------------------------------------------------------
def test_quoted_newlines_do_not_shift_row_numbers(app, tmp_path):
    vendor = make_vendor(app)
    rows = ascii_rows(5)
    for row in rows:
        row["notes"] = ""
    rows[0]["notes"] = "first line\nsecond line\r\nthird line"
    rows[2]["first_name"] = "Ann\nMarie"
    path = write_file(tmp_path, "results.csv", csv_text(rows, (*CANONICAL_COLUMNS, "notes")))
    assert path.read_text().count("\n") > 6

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (5, 4, 1)
    assert loaded_rows(app, outcome.delivery_id) == {
        1: "V00000001", 2: "V00000002", 4: "V00000004", 5: "V00000005",
    }  # fmt: skip
    (bad,) = rejections_of(app, outcome.delivery_id)
    assert (bad.row_number, bad.column, bad.value) == (3, "first_name", "Ann\nMarie")
    assert_accounted(app, outcome)


def test_blank_lines_are_not_counted_as_rows(app, tmp_path):
    vendor = make_vendor(app)
    lines = csv_text(exam_rows(3)).splitlines()
    path = write_file(
        tmp_path, "results.csv", "\n".join([lines[0], lines[1], "", lines[2], lines[3]])
    )

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded) == (3, 3)
    assert sorted(loaded_rows(app, outcome.delivery_id)) == [1, 2, 3]


def broken_record_file(tmp_path, bad_rows: dict[int, int], count: int = 6, name="results.csv"):
    """A CSV whose row n (1-based) has `bad_rows[n]` fields instead of 17."""
    rows = exam_rows(count)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CANONICAL_COLUMNS)
    for number, row in enumerate(rows, 1):
        cells = [row[c] for c in CANONICAL_COLUMNS]
        width = bad_rows.get(number, len(cells))
        cells = (cells + ["extra"] * width)[:width]
        writer.writerow(cells)
    return write_file(tmp_path, name, buffer.getvalue()), rows


def test_a_record_with_too_few_fields_is_rejected_and_others_keep_their_numbers(app, tmp_path):
    vendor = make_vendor(app)
    path, rows = broken_record_file(tmp_path, {3: 16})

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 6, 5, 1,
    )  # fmt: skip
    assert loaded_rows(app, outcome.delivery_id) == {
        n: rows[n - 1]["vendor_record_id"] for n in (1, 2, 4, 5, 6)
    }
    (problem,) = rejections_of(app, outcome.delivery_id)
    assert problem.row_number == 3
    assert "expected 17 fields, found 16" in problem.reason
    assert problem.value.startswith(rows[2]["vendor_record_id"] + ",")
    assert problem.value.count(",") == 15
    assert_accounted(app, outcome)


def test_records_with_too_many_and_too_few_fields_in_gzip(app, tmp_path):
    vendor = make_vendor(app)
    plain, _ = broken_record_file(tmp_path, {1: 18, 4: 2, 6: 1})
    path = write_file(tmp_path, "results.csv.gz", gzip.compress(plain.read_bytes(), mtime=0))

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (6, 3, 3)
    assert sorted(loaded_rows(app, outcome.delivery_id)) == [2, 3, 5]
    reasons = {r.row_number: r.reason for r in rejections_of(app, outcome.delivery_id)}
    assert sorted(reasons) == [1, 4, 6]
    assert "expected 17 fields, found 18" in reasons[1]
    assert "expected 17 fields, found 2" in reasons[4]
    assert "expected 17 fields, found 1" in reasons[6]
    assert_accounted(app, outcome)


def test_a_broken_record_past_the_first_batch_keeps_row_numbers_exact(app, tmp_path):
    app.settings.ingest_batch_rows = 1000
    vendor = make_vendor(app)
    path, rows = broken_record_file(tmp_path, {1000: 16, 1001: 18, 2400: 3}, count=2500)

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (2500, 2497, 3)
    loaded = loaded_rows(app, outcome.delivery_id)
    assert loaded == {
        n: rows[n - 1]["vendor_record_id"] for n in range(1, 2501) if n not in (1000, 1001, 2400)
    }
    assert sorted(r.row_number for r in rejections_of(app, outcome.delivery_id)) == [
        1000, 1001, 2400,
    ]  # fmt: skip
    assert_accounted(app, outcome)


def test_a_broken_record_found_after_batches_were_loaded_is_reread_exactly(
    app, tmp_path, monkeypatch
):
    # small parse blocks: pyarrow meets the broken record only after loading 2 batches
    monkeypatch.setattr("exchange.readers.BLOCK_SIZE", 1 << 16)
    app.settings.ingest_batch_rows = 1000
    vendor = make_vendor(app)
    path, rows = broken_record_file(tmp_path, {2400: 16}, count=2500)
    assert path.stat().st_size > 4 * (1 << 16)

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (2500, 2499, 1)
    assert loaded_rows(app, outcome.delivery_id) == {
        n: rows[n - 1]["vendor_record_id"] for n in range(1, 2501) if n != 2400
    }
    (problem,) = rejections_of(app, outcome.delivery_id)
    assert problem.row_number == 2400
    assert "expected 17 fields, found 16" in problem.reason
    assert_accounted(app, outcome)


def test_a_large_clean_file_in_batches_numbers_every_row(app, tmp_path):
    app.settings.ingest_batch_rows = 1000
    vendor = make_vendor(app)
    rows = exam_rows(2345)
    path = write_file(tmp_path, "results.csv", csv_text(rows))

    outcome = ingest(app, path, vendor)

    assert (outcome.rows_total, outcome.rows_loaded) == (2345, 2345)
    assert loaded_rows(app, outcome.delivery_id) == {
        n: r["vendor_record_id"] for n, r in enumerate(rows, 1)
    }


# formats --------------------------------------------------------------------------------
def stored_rows(app, delivery_id: int) -> list[tuple]:
    return [
        (r.row_number, *(getattr(r, c) for c in CANONICAL_COLUMNS))
        for r in results_of(app, delivery_id)
    ]


def test_gzip_csv_and_parquet_load_the_same_rows_as_plain_csv(app, tmp_path):
    vendor = make_vendor(app)
    rows = exam_rows(20)
    text = csv_text(rows)
    plain = write_file(tmp_path, "results.csv", text)
    gzipped = write_file(tmp_path, "results.csv.gz", gzip.compress(text.encode(), mtime=0))
    parquet = tmp_path / "results.parquet"
    pq.write_table(
        pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in CANONICAL_COLUMNS}),
        parquet,
    )

    outcomes = [ingest(app, p, vendor) for p in (plain, gzipped, parquet)]

    assert [(o.status, o.rows_loaded) for o in outcomes] == [("loaded", 20)] * 3
    assert len(stored_rows(app, outcomes[0].delivery_id)) == 20
    # every value read the same: the later copies are `unchanged` (a correction compares them)
    assert [(o.rows_unchanged, o.rows_superseded) for o in outcomes] == [(0, 0), (20, 0), (20, 0)]
    assert (
        stored_rows(app, outcomes[1].delivery_id) == stored_rows(app, outcomes[2].delivery_id) == []
    )
    formats = [delivery_of(app, o.delivery_id).summary for o in outcomes]
    assert ['"format": "csv"' in formats[0], '"csv.gz"' in formats[1]] == [True, True]
    assert '"format": "parquet"' in formats[2]


def test_typed_parquet_columns_load_as_their_values(app, tmp_path):
    vendor = make_vendor(app)
    path = tmp_path / "results.parquet"
    row = exam_row(1, **ASCII_NAMES)
    table = {c: pa.array([row[c]], pa.string()) for c in CANONICAL_COLUMNS}
    table["birth_date"] = pa.array([date(2008, 3, 4)], pa.date32())
    table["exam_date"] = pa.array([datetime(2025, 5, 6, 14, 30)], pa.timestamp("ms"))
    table["score"] = pa.array([712], pa.int64())
    table["attempt"] = pa.array([None], pa.int32())
    pq.write_table(pa.table(table), path)

    outcome = ingest(app, path, vendor)

    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    (result,) = results_of(app, outcome.delivery_id)
    assert (result.birth_date, result.exam_date) == (date(2008, 3, 4), date(2025, 5, 6))
    assert (result.score, result.attempt) == (712.0, None)


def test_parquet_missing_a_required_column_is_rejected(app, tmp_path):
    vendor = make_vendor(app)
    path = tmp_path / "results.parquet"
    rows = exam_rows(2)
    columns = [c for c in CANONICAL_COLUMNS if c != "candidate_id"]
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), path)

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "missing required column(s): candidate_id")


def test_a_zip_file_is_rejected_with_a_clear_reason(app, tmp_path):
    vendor = make_vendor(app)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("results.csv", csv_text(exam_rows(3)))
    path = write_file(tmp_path, "results.zip", buffer.getvalue())

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "ZIP archive", "CSV, gzip'd CSV or Parquet")


def test_random_binary_is_rejected_with_a_clear_reason(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", random.Random(3).randbytes(4096))

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "not valid UTF-8", "byte 0x", "line ")


def test_a_truncated_gzip_is_rejected(app, tmp_path):
    vendor = make_vendor(app)
    whole = gzip.compress(csv_text(exam_rows(50)).encode(), mtime=0)
    path = write_file(tmp_path, "results.csv.gz", whole[: len(whole) // 2])

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "gzip")


def test_a_damaged_parquet_file_is_rejected(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.parquet", b"PAR1" + b"\x00garbage" * 20)

    outcome = ingest(app, path, vendor)

    assert_file_rejected(app, outcome, "Parquet file could not be read")


# the same file twice --------------------------------------------------------------------
def test_the_same_file_twice_is_a_duplicate_and_loads_nothing_more(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", csv_text(exam_rows(7)))
    first = ingest(app, path, vendor)
    again = write_file(tmp_path, "renamed.csv", path.read_bytes())

    second = ingest(app, again, vendor)

    assert (first.status, first.rows_loaded) == ("loaded", 7)
    assert (second.status, second.duplicate_of) == ("duplicate", first.delivery_id)
    assert (second.rows_total, second.rows_loaded, second.sha256) == (0, 0, first.sha256)
    assert second.delivery_id != first.delivery_id
    with session_scope(app.engine) as session:
        assert session.exec(select(func.count()).select_from(ExamResult)).one() == 7
        copies = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
        assert [d.status for d in copies] == ["loaded", "duplicate"]
        assert copies[1].blob_id == copies[0].blob_id
        assert session.exec(select(func.count()).select_from(StoredBlob)).one() == 1
