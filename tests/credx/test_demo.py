"""`credx demo` on a fresh home, as a newcomer runs it."""

import csv
import json

from tests.credx.test_cli import credx


def test_demo_runs_end_to_end_and_a_second_run_finds_duplicates(tmp_path):
    env = {"CREDX_HOME": str(tmp_path / "home")}
    summary = json.loads(credx("demo", "--rows", "300", "--json", env=env).stdout)
    assert set(summary["vendors"]) == {"certiport", "nccer"}
    for outcome in summary["vendors"].values():
        assert outcome["status"] == "partially_loaded"
        assert outcome["rows_loaded"] + outcome["rows_rejected"] == outcome["rows_total"] == 300
        with open(outcome["error_report"], newline="") as handle:
            report = list(csv.DictReader(handle))
        assert report and all(row["reason"] for row in report)
    assert summary["event_log"]["intact"]
    roster = summary["roster"]
    assert roster["status"] == "partially_loaded" and roster["rows_rejected"] == 3
    assert roster["rows_loaded"] == roster["rows_total"] - 3 > 0
    again = json.loads(credx("demo", "--rows", "300", "--json", env=env).stdout)
    assert {o["status"] for o in again["vendors"].values()} == {"duplicate"}
