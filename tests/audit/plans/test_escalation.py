"""Closing a cycle: switching levels per school, events, follow-up draws."""

import json

import pytest
from sqlmodel import select

from audit.plans.draws import verify
from audit.plans.escalation import close_cycle
from audit.plans.models import AuditDraw, AuditTask, SchoolSamplingLevel
from eventlog.models import Event
from kernel.errors import InvalidInput
from tests.audit.plans.factories import SEED, finish, make_draw, make_plan, make_uploads

SWITCHING = {"tighten_failures": 1, "tighten_window": 1, "reduce_clean": 1}


def _plan(session, tmp_path):
    make_uploads(session, {"036001": 10, "036002": 10})
    plan = make_plan(session, rule="fixed", fixed_count=2, uncorroborated_rate="same",
                     switching=SWITCHING)  # fmt: skip
    make_draw(session, plan.id, tmp_path / "m.csv")
    return plan


def _tasks(session, school):
    query = select(AuditTask).where(AuditTask.school_code == school)
    return list(session.exec(query.order_by(AuditTask.id)))


def test_a_missing_certificate_tightens_the_school_and_draws_more(session, tmp_path):
    plan = _plan(session, tmp_path)
    bad, good = _tasks(session, "036001"), _tasks(session, "036002")
    finish(session, bad[0], "discrepancy", "missing")
    finish(session, bad[1])
    for task in good:
        finish(session, task)
    cycles = {c.school_code: c for c in close_cycle(session, plan.id, "test")}
    assert (cycles["036001"].level_after, cycles["036001"].follow_up) == ("tightened", 2)
    assert cycles["036002"].level_after == "reduced" and cycles["036002"].follow_up == 0
    assert len(_tasks(session, "036001")) == 4 and len(_tasks(session, "036002")) == 2
    follow_up = session.exec(select(AuditDraw).where(AuditDraw.round == 2)).one()
    assert follow_up.reason == "tightened" and follow_up.seed == SEED
    assert verify(session, plan.id, SEED, tmp_path / "m.csv", "test").ok  # same ticket order
    level = session.get(SchoolSamplingLevel, ("LA", "036001"))
    assert level.level == "tightened" and json.loads(level.history)[0]["discrepancies"] == 1
    switches = session.exec(select(Event).where(Event.action == "audit:school:switched")).all()
    assert sorted(e.subject for e in switches) == ["school:LA:036001", "school:LA:036002"]
    with pytest.raises(InvalidInput, match="already closed"):
        close_cycle(session, plan.id, "test")


def test_a_cycle_with_unfinished_tasks_cannot_close(session, tmp_path):
    plan = _plan(session, tmp_path)
    finish(session, _tasks(session, "036001")[0])
    with pytest.raises(InvalidInput, match="3 of 4 tasks have no final finding"):
        close_cycle(session, plan.id, "test")
    assert session.exec(select(SchoolSamplingLevel)).all() == []


def test_the_next_plan_samples_a_tightened_school_at_the_tightened_size(session, tmp_path):
    plan = _plan(session, tmp_path)
    for task in session.exec(select(AuditTask)).all():
        finish(session, task, "discrepancy", "illegible")
    close_cycle(session, plan.id, "test")
    make_uploads(session, {"036001": 10}, school_year="2026-27")
    follow = make_plan(session, "la-2026-27", school_year="2026-27", rule="fixed",
                       fixed_count=2, uncorroborated_rate="same")  # fmt: skip
    result = make_draw(session, follow.id, tmp_path / "next.csv")
    assert len(result.items) == 4  # tightened: twice the fixed count
