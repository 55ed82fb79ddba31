"""Row-level problems: each bad row is rejected with its value as received and a reason,
the good rows around it load, and no row goes missing."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest

from credx.demo.data import ExamResultFaker
from exchange.checking import DUPLICATE_ID
from exchange.deliveries import ingest_file
from kernel.clock import today
from schemas.exam_results import CANONICAL_COLUMNS, FORMULA, MISSING_VALUE
from tests.factories import (
    csv_text,
    exam_row,
    exam_rows,
    make_vendor,
    rejections_of,
    results_of,
    write_file,
)

NOT_A_DATE = "not a date: use YYYY-MM-DD (or MM/DD/YYYY)"
NOT_A_NUMBER = "must be a number of at least 0"
UNKNOWN_CODE = "unknown credential code: not in the credential registry"
MALFORMED_CODE = "not a credential code: five capital letters and three digits"


def ingest(app, path, vendor):
    return ingest_file(app, path, vendor, actor="test")


def assert_accounted(app, outcome) -> None:
    """Every row is loaded or rejected, and the database agrees with the outcome."""
    assert outcome.rows_loaded + outcome.rows_rejected == outcome.rows_total
    results = results_of(app, outcome.delivery_id)
    rejected = {r.row_number for r in rejections_of(app, outcome.delivery_id)}
    assert None not in rejected
    assert len(results) == outcome.rows_loaded
    assert len(rejected) == outcome.rows_rejected
    assert not rejected & {r.row_number for r in results}
    assert len(results) + len(rejected) == outcome.rows_total


def ingest_rows(app, tmp_path, rows):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "results.csv", csv_text(rows))
    outcome = ingest(app, path, vendor)
    assert_accounted(app, outcome)
    return outcome


def future() -> str:
    return (today() + timedelta(days=30)).isoformat()


# one bad cell in an otherwise good file ---------------------------------------------------
BAD_CELLS = [
    ("score", "abc", NOT_A_NUMBER),
    ("score", "-5", NOT_A_NUMBER),
    ("passing_score", "70%", NOT_A_NUMBER),
    ("attempt", "0", "must be a whole number from 1 to 999"),
    ("attempt", "1.5", "must be a whole number from 1 to 999"),
    ("result", "passed", "must be pass or fail"),
    ("exam_date", "2025-02-30", "no such day: February 2025 has 28 days"),
    ("exam_date", "13/45/2020", "no month 13"),
    ("exam_date", "yesterday", NOT_A_DATE),
    ("birth_date", "2008-02-30", "no such day: February 2008 has 29 days"),
    ("birth_date", "02/30/2008", "no such day: February 2008 has 29 days"),
    ("birth_date", "2008-3-4", NOT_A_DATE),
    ("birth_date", "1899-12-31", "birth date must be between 1900-01-01 and "),
    ("exam_date", "1999-12-31", "exam date must be between 2000-01-01 and "),
    ("first_name", '=HYPERLINK("http://x","y")', FORMULA),
    ("last_name", "@SUM(1)", FORMULA),
    ("middle_name", "+cmd", FORMULA),
    ("candidate_id", "-2+3", FORMULA),
    ("credential_code", "ZZZZZ999", UNKNOWN_CODE),
    ("credential_code", "ADESK2", MALFORMED_CODE),
    ("credential_code", "adesk002", MALFORMED_CODE),
    ("state", "XX", "not a two-letter USPS state code"),
    ("first_name", "R2D2", "must be a name"),
    ("vendor_record_id", "V" * 65, "longer than 64 characters"),
    ("last_name", "", MISSING_VALUE),
    ("exam_code", "", MISSING_VALUE),
]


@pytest.mark.parametrize(
    ("column", "value", "reason"), BAD_CELLS, ids=[f"{c}={v[:12]!r}" for c, v, _ in BAD_CELLS]
)
def test_a_bad_cell_rejects_its_row_with_the_value_and_reason(app, tmp_path, column, value, reason):
    rows = exam_rows(3)
    rows[1][column] = value

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 3, 2, 1,
    )  # fmt: skip
    assert outcome.error is None
    (rejection,) = rejections_of(app, outcome.delivery_id)
    assert (rejection.row_number, rejection.column) == (2, column)
    assert rejection.value == (value or None)
    assert rejection.reason.startswith(reason)
    assert [r.vendor_record_id for r in results_of(app, outcome.delivery_id)] == [
        rows[0]["vendor_record_id"], rows[2]["vendor_record_id"],
    ]  # fmt: skip


def test_a_future_exam_date_is_rejected(app, tmp_path):
    rows = exam_rows(2)
    rows[0]["exam_date"] = future()

    outcome = ingest_rows(app, tmp_path, rows)

    (rejection,) = rejections_of(app, outcome.delivery_id)
    assert (rejection.row_number, rejection.column, rejection.value) == (1, "exam_date", future())
    assert rejection.reason == f"exam date must be between 2000-01-01 and {today().isoformat()}"


def test_todays_exam_date_is_accepted(app, tmp_path):
    outcome = ingest_rows(app, tmp_path, [exam_row(1, exam_date=today().isoformat())])

    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    assert results_of(app, outcome.delivery_id)[0].exam_date == today()


def test_unknown_and_malformed_credential_codes_get_different_reasons(app, tmp_path):
    rows = exam_rows(3)
    rows[0]["credential_code"] = "ZZZZZ999"
    rows[1]["credential_code"] = "ADESK2"
    rows[2]["credential_code"] = "ADESK002"

    outcome = ingest_rows(app, tmp_path, rows)

    reasons = {r.row_number: r.reason for r in rejections_of(app, outcome.delivery_id)}
    assert sorted(reasons) == [1, 2]
    assert reasons[1].startswith(UNKNOWN_CODE)
    assert reasons[2].startswith(MALFORMED_CODE)
    assert [r.credential_code for r in results_of(app, outcome.delivery_id)] == ["ADESK002"]


def test_every_bad_cell_of_a_row_is_reported_once(app, tmp_path):
    rows = exam_rows(2)
    rows[0].update(score="abc", attempt="0", result="passed", exam_date="yesterday")

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (2, 1, 1)
    found = {(r.row_number, r.column, r.value) for r in rejections_of(app, outcome.delivery_id)}
    assert found == {
        (1, "score", "abc"), (1, "attempt", "0"), (1, "result", "passed"),
        (1, "exam_date", "yesterday"),
    }  # fmt: skip
    assert len(rejections_of(app, outcome.delivery_id)) == 4


def test_a_file_of_only_bad_rows_is_rejected_row_by_row(app, tmp_path):
    rows = exam_rows(3)
    for row in rows:
        row["result"] = "maybe"

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == ("rejected", 0, 3)
    assert outcome.error is None
    assert [r.row_number for r in rejections_of(app, outcome.delivery_id)] == [1, 2, 3]


# values converted --------------------------------------------------------------------------
def test_us_dates_are_read_as_month_day_year(app, tmp_path):
    rows = [
        exam_row(1, birth_date="03/04/2008", exam_date="12/31/2024"),
        exam_row(2, birth_date="3/4/2008", exam_date="1/2/2025"),
        exam_row(3, birth_date="2008-04-03", exam_date="2025-02-01"),
    ]

    outcome = ingest_rows(app, tmp_path, rows)

    assert outcome.rows_loaded == 3
    assert [(r.birth_date, r.exam_date) for r in results_of(app, outcome.delivery_id)] == [
        (date(2008, 3, 4), date(2024, 12, 31)),
        (date(2008, 3, 4), date(2025, 1, 2)),
        (date(2008, 4, 3), date(2025, 2, 1)),
    ]


def test_a_leap_day_is_a_date(app, tmp_path):
    outcome = ingest_rows(app, tmp_path, [exam_row(1, birth_date="02/29/2008")])

    assert results_of(app, outcome.delivery_id)[0].birth_date == date(2008, 2, 29)


def test_typed_values_are_stored(app, tmp_path):
    row = exam_row(
        1, score="85.5", passing_score="70", attempt="12", result="PASS", state="la",
        state_student_id="", school_code="",
    )  # fmt: skip

    outcome = ingest_rows(app, tmp_path, [row])

    (result,) = results_of(app, outcome.delivery_id)
    assert (result.score, result.passing_score, result.attempt) == (85.5, 70.0, 12)
    assert (result.result, result.state) == ("pass", "LA")
    assert (result.state_student_id, result.school_code) == (None, None)
    assert (result.row_number, result.vendor_record_id) == (1, row["vendor_record_id"])


NAMES = [
    ("José", "O'Brien"),
    ("Mary-Kate", "Nguyễn"),
    ("Seán", "St. John"),
    ("Zoë", "O’Brien"),
    ("Thảo", unicodedata.normalize("NFD", "Nguyễn")),
    ("Jean-Luc", "García-Márquez"),
    ("J.", "Van Buren"),
]


def test_unicode_names_are_stored_exactly(app, tmp_path):
    rows = [
        exam_row(n, first_name=first, last_name=last, middle_name="Thị" if n == 1 else "")
        for n, (first, last) in enumerate(NAMES, 1)
    ]

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.status, outcome.rows_loaded) == ("loaded", len(NAMES))
    results = results_of(app, outcome.delivery_id)
    assert [(r.first_name, r.last_name) for r in results] == NAMES
    assert results[1].last_name.encode() == "Nguyễn".encode()
    assert results[4].last_name.encode() == unicodedata.normalize("NFD", "Nguyễn").encode()
    assert results[0].middle_name == "Thị"


# repeated ids ----------------------------------------------------------------------------
def test_a_repeated_vendor_record_id_rejects_the_later_row(app, tmp_path):
    rows = exam_rows(4)
    rows[2]["vendor_record_id"] = rows[0]["vendor_record_id"]
    rows[3]["vendor_record_id"] = rows[0]["vendor_record_id"]

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.rows_loaded, outcome.rows_rejected) == (2, 2)
    results = results_of(app, outcome.delivery_id)
    assert [(r.row_number, r.candidate_id) for r in results] == [
        (1, rows[0]["candidate_id"]), (2, rows[1]["candidate_id"]),
    ]  # fmt: skip
    rejections = rejections_of(app, outcome.delivery_id)
    assert [(r.row_number, r.column, r.value, r.reason) for r in rejections] == [
        (3, "vendor_record_id", rows[0]["vendor_record_id"], DUPLICATE_ID),
        (4, "vendor_record_id", rows[0]["vendor_record_id"], DUPLICATE_ID),
    ]


def test_a_repeated_vendor_record_id_in_a_later_batch_is_rejected(app, tmp_path):
    app.settings.ingest_batch_rows = 1000
    rows = exam_rows(1500)
    rows[1399]["vendor_record_id"] = rows[9]["vendor_record_id"]

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected) == (1500, 1499, 1)
    (rejection,) = rejections_of(app, outcome.delivery_id)
    assert (rejection.row_number, rejection.reason) == (1400, DUPLICATE_ID)


def test_the_same_vendor_record_id_in_another_file_is_not_a_repeat(app, tmp_path):
    vendor = make_vendor(app)
    first = ingest(app, write_file(tmp_path, "a.csv", csv_text(exam_rows(2))), vendor)
    second_rows = exam_rows(2, seed=99)
    second = ingest(app, write_file(tmp_path, "b.csv", csv_text(second_rows)), vendor)

    assert (first.rows_loaded, second.status, second.rows_loaded) == (2, "loaded", 2)


# nothing dropped ---------------------------------------------------------------------------
def test_a_missing_value_next_to_other_bad_values_is_recorded_as_missing(app, tmp_path):
    rows = exam_rows(3)
    rows[0]["last_name"] = ""
    rows[1]["score"] = "abc"

    outcome = ingest_rows(app, tmp_path, rows)

    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded", 1, 2,
    )  # fmt: skip
    found = [(r.row_number, r.column, r.value) for r in rejections_of(app, outcome.delivery_id)]
    assert found == [(1, "last_name", None), (2, "score", "abc")]


def test_a_flawed_file_accounts_for_every_row_and_keeps_each_value(app, tmp_path):
    rows = list(ExamResultFaker(11).rows(400, flaw_rate=0.25))
    rows[50]["vendor_record_id"] = rows[5]["vendor_record_id"]

    outcome = ingest_rows(app, tmp_path, rows)

    assert outcome.rows_total == 400
    assert outcome.status == "partially_loaded"
    assert 50 < outcome.rows_rejected < 200
    for rejection in rejections_of(app, outcome.delivery_id):
        sent = rows[rejection.row_number - 1][rejection.column]
        assert rejection.value == (sent or None), rejection
        assert rejection.reason
    for result in results_of(app, outcome.delivery_id):
        sent = rows[result.row_number - 1]
        assert (result.vendor_record_id, result.first_name, result.last_name) == (
            sent["vendor_record_id"], sent["first_name"], sent["last_name"],
        )  # fmt: skip
    assert {r.column for r in rejections_of(app, outcome.delivery_id)} <= set(CANONICAL_COLUMNS)


def test_checking_in_a_second_process_gives_the_same_result(app, tmp_path):
    """Large files are checked in a forked child; the outcome must not depend on it."""
    # two vendors: the same rows again from one vendor would be `unchanged` (corrections)
    vendors = {1 << 40: make_vendor(app), 0: make_vendor(app, "certiport", "Certiport")}
    faker = ExamResultFaker(99)
    text = csv_text(list(faker.rows(3000, flaw_rate=0.05)))
    app.settings.ingest_batch_rows = 1000
    outcomes = []
    for min_bytes in (1 << 40, 0):  # in process, then in a child process
        app.settings.ingest_parallel_min_bytes = min_bytes
        # the same bytes again would be a duplicate: vary a trailing blank line
        path = write_file(tmp_path, f"f{min_bytes}.csv", text + ("\n" if min_bytes else ""))
        outcome = ingest_file(app, path, vendors[min_bytes], actor="test")
        rows = [(r.row_number, r.agreement_id.split("-")[-1], r.last_name, r.birth_date)
                for r in results_of(app, outcome.delivery_id)]  # fmt: skip
        rejected = [(r.row_number, r.column, r.value, r.reason)
                    for r in rejections_of(app, outcome.delivery_id)]  # fmt: skip
        outcomes.append(
            (outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected, rows, rejected)
        )
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][2] > 0 and outcomes[0][1] > 2000
