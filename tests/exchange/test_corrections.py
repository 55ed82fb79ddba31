"""Issue 18 item 1: a vendor's corrected re-send replaces rows instead of loading them twice,
and a retraction file withdraws rows; `credx results` releases current rows only."""

from __future__ import annotations

import json

from tests.cli import credx
from tests.factories import csv_text, exam_rows, make_vendor, results_of, write_file


def release(cli_env, states: set[str]) -> list[dict]:
    args = ["results", "--recipient", "analyst", "--purpose", "test", "--json"]
    for state in sorted(states):
        args += ["--state", state]
    return json.loads(credx(*args, env=cli_env).stdout)


def ingest(cli_env, path) -> dict:
    return json.loads(credx("ingest", str(path), "--vendor", "nccer", "--json", env=cli_env).stdout)


def test_corrected_resend_supersedes_and_never_releases_twice(app, cli_env, tmp_path):
    make_vendor(app)
    rows = exam_rows(6)
    first = ingest(cli_env, write_file(tmp_path, "day1.csv", csv_text(rows)))
    assert first["rows_loaded"] == 6 and first["rows_superseded"] == 0

    corrected = [dict(r) for r in rows]
    corrected[1]["score"] = str(int(rows[1]["score"]) + 1)
    corrected[4]["result"] = "fail" if rows[4]["result"].lower() == "pass" else "pass"
    extra = exam_rows(7, seed=99)[-1]
    extra["vendor_record_id"] = "NEW-0001"
    second = ingest(
        cli_env, write_file(tmp_path, "day1-corrected.csv", csv_text([*corrected, extra]))
    )
    assert second["rows_total"] == 7 and second["rows_rejected"] == 0
    assert (second["rows_superseded"], second["rows_unchanged"]) == (2, 4)
    # the corrected delivery stores the two changed rows and the new one, nothing else
    assert len(results_of(app, second["delivery_id"])) == 3

    released = release(cli_env, {r["state"] for r in [*corrected, extra]})
    ids = [r["vendor_record_id"] for r in released]
    assert sorted(ids) == sorted({r["vendor_record_id"] for r in [*corrected, extra]})
    by_id = {r["vendor_record_id"]: r for r in released}
    assert by_id[rows[1]["vendor_record_id"]]["score"] == int(rows[1]["score"]) + 1
    assert by_id[rows[4]["vendor_record_id"]]["result"] == corrected[4]["result"]
    assert by_id[rows[0]["vendor_record_id"]]["delivery_id"] == first["delivery_id"]

    retraction = write_file(tmp_path, "retract.csv", "vendor_record_id\n"
                            f"{rows[2]['vendor_record_id']}\nNEVER-SENT\n")  # fmt: skip
    withdrawn = ingest(cli_env, retraction)
    assert withdrawn["rows_retracted"] == 1 and withdrawn["rows_rejected"] == 1
    report = credx(
        "rejections", str(withdrawn["delivery_id"]), "--format", "json", env=cli_env
    ).stdout
    assert "NEVER-SENT" in report and "nothing was retracted" in report
    after = {r["vendor_record_id"] for r in release(cli_env, {r["state"] for r in rows})}
    assert rows[2]["vendor_record_id"] not in after
    assert rows[1]["vendor_record_id"] in after
