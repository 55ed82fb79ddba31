"""Results per school and state, the CSV export, and progress for the dashboard."""

import csv
import io

import pytest
from sqlmodel import select

from audit.plans.models import AuditTask
from audit.plans.results import export_results, plan_results, progress_by_plan
from audit.sampling.bounds import clopper_pearson_upper
from eventlog.models import Event
from tests.audit.plans.factories import finish, make_draw, make_plan, make_uploads, vendor_result


def _drawn(session, tmp_path):
    uploads = make_uploads(session, {"036001": 5, "036002": 4})
    vendor_result(session, uploads[0])
    plan = make_plan(session, rule="fixed", fixed_count=3, confidence=0.9,
                     uncorroborated_rate="full")  # fmt: skip
    make_draw(session, plan.id, tmp_path / "m.csv")
    return plan


def test_results_count_findings_and_bound_the_rate(session, tmp_path):
    plan = _drawn(session, tmp_path)
    tasks = list(session.exec(select(AuditTask).where(AuditTask.school_code == "036001")))
    assert len(tasks) == 5  # 1 corroborated (whole stratum) + 4 uncorroborated in full
    finish(session, tasks[0], "discrepancy", "missing")
    for task in tasks[1:4]:
        finish(session, task)
    results = plan_results(session, plan.id)
    school = results.schools[0]
    assert (school.population, school.corroborated, school.sampled) == (5, 1, 5)
    assert (school.final, school.verified, school.discrepancies) == (4, 3, 1)
    assert school.pending == 1 and school.observed_rate == 0.25
    assert school.upper_bound == pytest.approx(clopper_pearson_upper(1, 4, 0.9))
    assert school.countable == 4 and school.confidence == 0.9
    other = results.schools[1]
    assert other.final == 0 and other.observed_rate is None and other.countable == 4
    total = results.total
    assert (total.population, total.sampled, total.discrepancies) == (9, 9, 1)
    assert results.rates["uncorroborated"].startswith("every uncorroborated")
    shown = results.as_json()  # what `credx audit results --json` prints
    fields = ["plan", "state", "school_year", "confidence", "rates", "schools", "total"]
    assert list(shown) == fields
    assert shown["schools"][0]["observed_rate"] == 0.25 and shown["total"]["scope"] == "state"


def test_the_csv_export_has_a_line_per_school_and_the_state_and_is_logged(session, tmp_path):
    plan = _drawn(session, tmp_path)
    export_results(session, plan.id, tmp_path / "results.csv", "test")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert [(r["scope"], r["school_code"]) for r in rows] == [
        ("school", "036001"), ("school", "036002"), ("state", "LA")
    ]  # fmt: skip
    assert rows[2]["sampled"] == "9" and rows[2]["rate_corroborated"] == "3 per school"
    assert session.exec(select(Event).where(Event.action == "audit:results:exported")).one()


def test_progress_by_plan_counts_tasks_by_status(session, tmp_path):
    plan = _drawn(session, tmp_path)
    tasks = list(session.exec(select(AuditTask).order_by(AuditTask.id)))
    finish(session, tasks[0], "discrepancy", "illegible")
    finish(session, tasks[1])
    tasks[2].status = "second_review"
    session.add(tasks[2])
    session.flush()
    [progress] = progress_by_plan(session, "LA")
    assert progress.plan_id == plan.id and progress.tasks == 9
    assert (progress.open, progress.second_review, progress.final) == (6, 1, 2)
    assert progress.assigned == 0 and progress.discrepancies == 1
    assert progress.verified == 1 and progress.percent_done == 22.2
    assert progress_by_plan(session, "TN") == []
