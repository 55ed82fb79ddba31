"""`credx report attainment` as operators run it: CSV and Parquet, suppression that holds in the
exported file, no student-level data in public output, and the recorded student-level export.

The command runs in-process (`tests.cli.credx`): a subprocess costs seconds of imports per call.
"""

from __future__ import annotations

import io
import json

import pandas as pd
from sqlmodel import select

from agreements.models import Disclosure
from kernel.database import session_scope
from reports.attainment import ReportRequest, attainment_report
from reports.suppression import SuppressedTable
from tests.cli import credx
from tests.reports.attacker import feasible_values
from tests.reports.fixtures.world import CAD, DESIGN, school_world

# three schools, two credentials: S1's 3 DES takers and S2's 4 CAD takers are small cells
PLAN = {
    "S1": (14, {CAD: (12, 11), DESIGN: (3, 2)}),
    "S2": (13, {CAD: (4, 4), DESIGN: (11, 10)}),
    "S3": (20, {CAD: (15, 12), DESIGN: (12, 10)}),
}


GRID_ROWS, GRID_COLUMNS = ["S1", "S2", "S3", "Total"], [CAD, DESIGN, "Total"]


def grid(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """A measure as the schools x credentials grid with its totals, as published."""
    wide = table.pivot(index="school", columns="credential", values=measure)
    return wide.loc[GRID_ROWS, GRID_COLUMNS]


def test_exported_csv_and_parquet_keep_small_cells_unrecoverable(app, cli_env, tmp_path):
    with session_scope(app.engine) as session:
        school_world(session, PLAN)
        truth = attainment_report(session, ReportRequest("LA", "2025-26", min_cell=1), None, "t")
    csv_run = credx("report", "attainment", "--state", "LA", "--year", "2025-26", "--by",
                    "school,credential", "--format", "csv", env=cli_env)  # fmt: skip
    published = pd.read_csv(io.StringIO(csv_run.stdout))
    parquet = tmp_path / "la.parquet"
    credx("report", "attainment", "--state", "la", "--year", "2025-26", "--format", "parquet",
          "--out", str(parquet), env=cli_env)  # fmt: skip
    from_parquet = pd.read_parquet(parquet)
    assert from_parquet["sat_exam"].isna().tolist() == published["sat_exam"].isna().tolist()
    assert "state_student_id" not in published.columns
    assert not published.astype(str).apply(lambda c: c.str.contains("LA0")).any().any()
    for measure in ("sat_exam", "passed_exam", "earned_verified"):
        shown = grid(published, measure)
        true = grid(truth.table, measure).astype("int64")
        visible = shown.to_numpy()[~shown.isna().to_numpy()]
        assert ((visible == 0) | (visible >= 10)).all(), measure  # no small cell shown
        hidden = shown.isna()
        assert hidden.loc["S1", DESIGN] and hidden.loc["S2", CAD], measure
        attack = SuppressedTable(true, hidden, hidden, 10)
        for cell, values in feasible_values(attack).items():
            assert len(values) > 1, (measure, cell)  # every hidden cell has other readings
        assert (shown.fillna(-1).to_numpy() == true.where(~hidden, -1).to_numpy()).all()


def test_json_output_and_min_cell_option(app, cli_env):
    with session_scope(app.engine) as session:
        school_world(session, PLAN)
    out = credx("report", "attainment", "--state", "LA", "--year", "2025-26", "--by", "school",
                "--min-cell", "5", "--json", env=cli_env).stdout  # fmt: skip
    data = json.loads(out)
    assert (data["min_cell"], data["by"], data["state"]) == (5, "school", "LA")
    rows = {r["school"]: r for r in data["rows"]}
    assert rows["S2"]["enrolled"] == 13 and rows["Total"]["enrolled"] == 47
    # sat any exam: S1 12 (CAD takers include the DES ones), S2 11, S3 15
    assert [rows[s]["sat_exam"] for s in ("S1", "S2", "S3", "Total")] == [12, 11, 15, 38]
    no_data = credx("report", "attainment", "--state", "LA", "--year", "2019-20", env=cli_env,
                    check=1)  # fmt: skip
    assert "no roster students for LA 2019-20" in no_data.stderr


def test_student_level_export_is_a_recorded_disclosure(app, cli_env, tmp_path):
    with session_scope(app.engine) as session:
        school_world(session, {"S1": (2, {CAD: (1, 1)})})
    out = tmp_path / "students.csv"
    refused = credx("report", "attainment", "--state", "LA", "--year", "2025-26",
                    "--student-level", env=cli_env, check=1)  # fmt: skip
    assert "--recipient, --purpose and --out" in refused.stderr
    done = credx("report", "attainment", "--state", "LA", "--year", "2025-26", "--student-level",
                 "--recipient", "LDOE research office", "--purpose", "program evaluation",
                 "--out", str(out), "--json", env=cli_env)  # fmt: skip
    assert json.loads(done.stdout)["students"] == 1
    rows = pd.read_csv(out)
    assert rows["credential"].tolist() == [CAD] and bool(rows["passed_exam"].iloc[0])
    with session_scope(app.engine) as session:
        (disclosure,) = session.exec(select(Disclosure)).all()
    assert (disclosure.recipient, disclosure.record_count) == ("LDOE research office", 1)
    assert "state_student_id" in disclosure.data_elements
