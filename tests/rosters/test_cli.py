"""`credx roster ...` and `credx report priorities ...` as operators run them."""

from __future__ import annotations

import json

from tests.cli import credx
from tests.factories import write_file
from tests.rosters.factories import roster_csv, roster_row, schools_csv


def test_roster_import_reports_counts_and_the_error_report(cli_env, tmp_path):
    credx("init", env=cli_env)
    rows = [roster_row(1), roster_row(2, school_code="S9"), roster_row(3, gender="?")]
    path = roster_csv(tmp_path, rows)
    refused = credx("roster", "import", str(path), "--state", "LA", "--year", "2025-26",
                    env=cli_env, check=1)  # fmt: skip
    assert "no school list for LA" in refused.stderr
    done = credx("roster", "import", str(path), "--state", "LA", "--year", "2025-26",
                 "--schools", str(schools_csv(tmp_path)), "--json", env=cli_env)  # fmt: skip
    outcome = json.loads(done.stdout)
    assert (outcome["status"], outcome["rows_loaded"], outcome["rows_rejected"]) == (
        "partially_loaded", 1, 2,
    )  # fmt: skip
    text = credx("roster", "import", str(path), "--state", "la", "--year", "2025-26", env=cli_env)
    assert f"credx roster rejections {outcome['import_id'] + 1} --format csv" in text.stdout
    report = credx("roster", "rejections", str(outcome["import_id"]), env=cli_env).stdout
    lines = report.splitlines()
    assert lines[0] == "import_id,row_number,column,value,reason"
    assert lines[1].startswith(f"{outcome['import_id']},2,school_code,S9,")
    assert "LA000001" not in report  # good rows are not in the error report
    listed = json.loads(credx("roster", "list", "--json", env=cli_env).stdout)
    assert [r["import_id"] for r in listed] == [outcome["import_id"] + 1, outcome["import_id"]]
    log = credx("log", "show", "--json", "--limit", "50", env=cli_env).stdout
    assert "roster:file:imported" in log and "LA000001" not in log


def test_a_roster_with_no_good_row_exits_3(cli_env, tmp_path):
    credx("init", env=cli_env)
    path = write_file(tmp_path, "r.csv", "state_student_id\nA1\n")
    result = credx("roster", "import", str(path), "--state", "LA", "--year", "2025-26",
                   "--schools", str(schools_csv(tmp_path)), env=cli_env, check=3)  # fmt: skip
    assert "missing required column" in result.stdout


def test_priorities_apply_and_list(cli_env, tmp_path):
    credx("init", env=cli_env)
    document = write_file(tmp_path, "ky.yaml", (
        "state: KY\nschool_year: 2025-26\ncredentials:\n"
        "  ADESK002: {tier: high-demand, weight: 1.25}\n"
    ))  # fmt: skip
    applied = json.loads(credx("report", "priorities", "apply", str(document), "--json",
                               env=cli_env).stdout)  # fmt: skip
    assert applied["credentials"] == 1 and applied["state"] == "KY"
    listed = json.loads(credx("report", "priorities", "list", "--json", env=cli_env).stdout)
    assert listed == [{"state": "KY", "school_year": "2025-26", "credential_code": "ADESK002",
                       "tier": "high-demand", "weight": 1.25}]  # fmt: skip
    bad = write_file(tmp_path, "bad.yaml", document.read_text().replace("ADESK002", "NOPEX001"))
    refused = credx("report", "priorities", "apply", str(bad), env=cli_env, check=1)
    assert "bad.yaml line 4: unknown credential code 'NOPEX001'" in refused.stderr
