"""Column mappings: vendor headers onto canonical columns, and the errors an operator can make."""

from __future__ import annotations

import pytest

from agreements.mapping import ColumnMapping, load_mapping, parse_mapping
from exchange.deliveries import ingest_file
from exchange.models import Delivery
from kernel.database import session_scope
from kernel.errors import InvalidInput
from schemas.exam_results import CANONICAL_COLUMNS
from tests.factories import csv_text, exam_rows, make_vendor, rejections_of, results_of, write_file

NCCER_TOML = """\
# NCCER's export, as agreed with the state
encoding = "utf-8"

[columns]
"Record #" = "vendor_record_id"
"Card Number" = "candidate_id"
"First" = "first_name"
"Last" = "last_name"
"DOB" = "birth_date"
"Credential" = "credential_code"
"Exam" = "exam_code"
"Test Date" = "exam_date"
"Pass/Fail" = "result"
"Score" = "score"
"Prüfer" = "passing_score"

[defaults]
state = "TN"
"""
NCCER_HEADERS = {
    "vendor_record_id": "Record #", "candidate_id": "Card Number", "first_name": "First",
    "last_name": "Last", "birth_date": "DOB", "district_code": "DISTRICT_CODE",
    "credential_code": "Credential", "exam_code": "Exam", "exam_date": "Test Date",
    "result": "Pass/Fail", "score": "Score", "passing_score": "Prüfer",
}  # fmt: skip


def vendor_csv(rows, headers: dict[str, str], extra: tuple[str, ...] = ()) -> str:
    """The rows under the vendor's own headers (canonical -> header), plus extra columns."""
    renamed = [{headers[c]: row[c] for c in headers} | dict.fromkeys(extra, "x") for row in rows]
    return csv_text(renamed, (*headers.values(), *extra))


def write_mapping(tmp_path, text: str | bytes, name: str = "nccer.toml"):
    return write_file(tmp_path, name, text)


# reading mappings ------------------------------------------------------------------------
def test_a_mapping_file_is_read(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path, NCCER_TOML))

    assert mapping.encoding == "utf-8"
    assert mapping.defaults == {"state": "TN"}
    assert mapping.columns["Card Number"] == "candidate_id"
    assert mapping.columns["Prüfer"] == "passing_score"
    assert len(mapping.columns) == 11


def test_an_empty_mapping_is_the_canonical_layout():
    mapping = parse_mapping({}, "empty")

    assert mapping == ColumnMapping()
    assert mapping.resolve(["Vendor_Record_ID", "notes"]) == (
        {"Vendor_Record_ID": "vendor_record_id"}, ["notes"],
    )  # fmt: skip


def test_resolve_maps_vendor_headers_and_lists_the_rest():
    mapping = parse_mapping({"columns": {"DOB": "birth_date"}}, "inline")

    columns, ignored = mapping.resolve(["DOB", "STATE", "Proctor", "exam_date"])

    assert columns == {"DOB": "birth_date", "STATE": "state", "exam_date": "exam_date"}
    assert ignored == ["Proctor"]


# mapping errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("toml", "fragments"),
    [
        pytest.param(
            '[columns]\n"Cand" = "candidate"\n',
            ["'Cand' maps to 'candidate'", "not a canonical column", "candidate_id"],
            id="unknown-target",
        ),
        pytest.param('[columns]\n"Cand" = 5\n', ["'Cand' maps to 5"], id="target-not-text"),
        pytest.param('encoding = "utf-8\n', ["is not valid TOML"], id="bad-toml"),
        pytest.param("[columns\n", ["is not valid TOML"], id="bad-table"),
        pytest.param('encoding = "klingon"\n', ["unknown encoding 'klingon'"], id="encoding"),
        pytest.param("encoding = 8\n", ["unknown encoding 8"], id="encoding-not-text"),
        pytest.param('encoding = "rot13"\n', ["unknown encoding 'rot13'"], id="not-a-text-codec"),
        pytest.param('encoding = "base64"\n', ["unknown encoding 'base64'"], id="bytes-codec"),
        pytest.param(
            '[colums]\n"DOB" = "birth_date"\n', ["unknown keys ['colums']"], id="unknown-key"
        ),
        pytest.param('[defaults]\ncountry = "US"\n', ["[defaults] 'country'"], id="default-col"),
        pytest.param("[defaults]\nstate = 5\n", ["[defaults] 'state'"], id="default-not-text"),
        pytest.param('columns = "candidate_id"\n', ["[columns]", "table"], id="columns-not-table"),
        pytest.param('defaults = ["TN"]\n', ["[defaults]", "table"], id="defaults-not-table"),
    ],
)
def test_mapping_errors_name_the_problem(tmp_path, toml, fragments):
    path = write_mapping(tmp_path, toml)

    with pytest.raises(InvalidInput) as raised:
        load_mapping(path)

    assert str(path) in str(raised.value)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_a_mapping_file_that_is_not_utf8_is_refused(tmp_path):
    path = write_mapping(tmp_path, '[columns]\n"Prüfer" = "score"\n'.encode("latin-1"))

    with pytest.raises(InvalidInput, match="is not valid TOML"):
        load_mapping(path)


def test_a_missing_mapping_file_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_mapping(tmp_path / "nowhere.toml")


def test_two_headers_for_one_column_are_refused_naming_both():
    mapping = parse_mapping(
        {"columns": {"Card Number": "candidate_id", "Candidate": "candidate_id"}}, "inline"
    )

    with pytest.raises(InvalidInput) as raised:
        mapping.resolve(["Card Number", "first_name", "Candidate"])

    message = str(raised.value)
    assert "'Card Number'" in message and "'Candidate'" in message
    assert "candidate_id" in message


def test_a_mapped_header_and_the_canonical_header_are_two_headers_for_one_column():
    mapping = ColumnMapping(columns={"DOB": "birth_date"})

    with pytest.raises(InvalidInput, match="'DOB' and 'birth_date' both map to birth_date"):
        mapping.resolve(["DOB", "birth_date"])


# ingesting with a mapping ----------------------------------------------------------------
def test_vendor_headers_load_through_the_mapping(app, tmp_path):
    vendor = make_vendor(app)
    mapping = load_mapping(write_mapping(tmp_path, NCCER_TOML))
    rows = exam_rows(6)
    path = write_file(tmp_path, "nccer.csv", vendor_csv(rows, NCCER_HEADERS, ("Proctor",)))

    outcome = ingest_file(app, path, vendor, actor="test", mapping=mapping)

    assert (outcome.status, outcome.rows_total, outcome.rows_loaded) == ("loaded", 6, 6)
    assert outcome.columns_ignored == ["Proctor"]
    results = results_of(app, outcome.delivery_id)
    for result, row in zip(results, rows, strict=True):
        assert result.vendor_record_id == row["vendor_record_id"]
        assert result.candidate_id == row["candidate_id"]
        assert (result.first_name, result.last_name) == (row["first_name"], row["last_name"])
        assert result.credential_code == row["credential_code"]
        assert result.passing_score == float(row["passing_score"])
        assert result.state == "TN"  # from [defaults]
        assert result.district_code == row["district_code"]  # canonical header, any case
        assert (result.middle_name, result.attempt) == (None, None)  # not sent
    with session_scope(app.engine) as session:
        summary = session.get(Delivery, outcome.delivery_id).summary
    assert '"columns_ignored": ["Proctor"]' in summary


def test_rejections_name_the_vendors_own_header(app, tmp_path):
    vendor = make_vendor(app)
    mapping = load_mapping(write_mapping(tmp_path, NCCER_TOML))
    rows = exam_rows(3)
    rows[1]["score"] = "abc"
    rows[2]["birth_date"] = "2008-02-30"
    path = write_file(tmp_path, "nccer.csv", vendor_csv(rows, NCCER_HEADERS))

    outcome = ingest_file(app, path, vendor, actor="test", mapping=mapping)

    assert (outcome.rows_loaded, outcome.rows_rejected) == (1, 2)
    found = [(r.row_number, r.column, r.value) for r in rejections_of(app, outcome.delivery_id)]
    assert found == [(2, "Score", "abc"), (3, "DOB", "2008-02-30")]


def test_a_bom_before_a_mapped_first_header_is_not_part_of_it(app, tmp_path):
    vendor = make_vendor(app)
    mapping = load_mapping(write_mapping(tmp_path, NCCER_TOML))
    path = write_file(tmp_path, "nccer.csv", "\ufeff" + vendor_csv(exam_rows(2), NCCER_HEADERS))

    outcome = ingest_file(app, path, vendor, actor="test", mapping=mapping)

    assert (outcome.status, outcome.rows_loaded, outcome.columns_ignored) == ("loaded", 2, [])


def test_without_the_mapping_the_vendor_file_names_every_missing_column(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "nccer.csv", vendor_csv(exam_rows(2), NCCER_HEADERS))

    outcome = ingest_file(app, path, vendor, actor="test")

    assert outcome.status == "rejected"
    assert outcome.error.startswith(
        "missing required column(s): vendor_record_id, candidate_id, first_name, last_name, "
        "birth_date, state, credential_code, exam_code, exam_date, result."
    )
    assert "Card Number" in outcome.error


def test_a_file_with_two_headers_for_one_column_is_rejected_and_kept(app, tmp_path):
    vendor = make_vendor(app)
    mapping = ColumnMapping(columns={"Card Number": "candidate_id"})
    rows = [{**row, "Card Number": row["candidate_id"]} for row in exam_rows(2)]
    path = write_file(tmp_path, "both.csv", csv_text(rows, (*CANONICAL_COLUMNS, "Card Number")))

    outcome = ingest_file(app, path, vendor, actor="test", mapping=mapping)

    assert outcome.status == "rejected"
    assert "'candidate_id' and 'Card Number' both map to candidate_id" in outcome.error
    (reason,) = rejections_of(app, outcome.delivery_id)
    assert (reason.row_number, reason.reason) == (None, outcome.error)
    assert results_of(app, outcome.delivery_id) == []


def test_headers_differing_only_in_case_are_two_headers_for_one_column(app, tmp_path):
    vendor = make_vendor(app)
    rows = [{**row, "State": row["state"]} for row in exam_rows(2)]
    path = write_file(tmp_path, "case.csv", csv_text(rows, (*CANONICAL_COLUMNS, "State")))

    outcome = ingest_file(app, path, vendor, actor="test")

    assert outcome.status == "rejected"
    assert "'state' and 'State' both map to state" in outcome.error
