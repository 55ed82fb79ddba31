"""Issue 18 item 7: the rejection report a vendor opens beside their spreadsheet names the
row as the spreadsheet numbers it and the row's own vendor_record_id, and a date in the
right form with no such day says so instead of repeating the form."""

from __future__ import annotations

import csv
import io
import json

from tests.cli import credx
from tests.factories import csv_text, exam_rows, make_vendor, write_file


def test_rejection_report_names_sheet_row_record_id_and_the_missing_day(app, cli_env, tmp_path):
    make_vendor(app)
    rows = exam_rows(5)
    rows[2]["exam_date"] = "2025-02-30"  # data row 3: the fourth line of the sheet
    path = write_file(tmp_path, "results.csv", csv_text(rows))
    ran = credx("ingest", str(path), "--vendor", "nccer", "--json", env=cli_env, check=None)
    outcome = json.loads(ran.stdout)
    assert outcome["rows_rejected"] == 1

    report = credx("rejections", str(outcome["delivery_id"]), env=cli_env).stdout
    (line,) = list(csv.DictReader(io.StringIO(report)))
    assert (line["row_number"], line["sheet_row"]) == ("3", "4")
    assert line["vendor_record_id"] == rows[2]["vendor_record_id"]
    assert line["value"] == "2025-02-30"
    assert line["reason"].startswith("no such day: February 2025 has 28 days")
    assert "YYYY-MM-DD" not in line["reason"]

    as_json = credx("rejections", str(outcome["delivery_id"]), "--format", "json", env=cli_env)
    (entry,) = json.loads(as_json.stdout)
    assert entry["sheet_row"] == 4 and entry["vendor_record_id"] == rows[2]["vendor_record_id"]
