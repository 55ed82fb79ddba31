"""Draws, expansions and re-deriving them, on SQLite and PostgreSQL."""

import json

import pytest
from sqlmodel import select

from audit.manifests import read_manifest
from audit.plans.draws import draw_sample, expand, verify
from audit.plans.models import AuditDraw, AuditTask, PlanStatus
from audit.plans.plans import freeze
from audit.sampling.tickets import draw
from eventlog.models import Event
from kernel.errors import InvalidInput
from tests.audit.plans.factories import SEED, make_draw, make_plan, make_uploads


def test_the_draw_takes_the_lowest_tickets_per_stratum_and_opens_tasks(session, tmp_path):
    make_uploads(session, {"036001": 6, "036002": 2})
    plan = make_plan(session)
    result = make_draw(session, plan.id, tmp_path / "m.csv")
    manifest = read_manifest(tmp_path / "m.csv")
    expected = draw(manifest.items, SEED, 3)
    assert result.as_json() == {
        "seed": SEED,
        "manifest_sha256": manifest.sha256,
        "items": [{"id": t.id, "stratum": t.stratum, "ticket": t.ticket} for t in expected],
    }
    assert result.whole_strata == ["036002/uncorroborated"]  # 2 uploads, size 3: all of them
    tasks = session.exec(select(AuditTask)).all()
    assert sorted(t.item_id for t in tasks) == sorted(t.id for t in expected)
    assert {t.status for t in tasks} == {"open"} and {t.district for t in tasks} == {"036"}
    assert plan.status == PlanStatus.DRAWN
    event = session.exec(select(Event).where(Event.action == "audit:sample:drawn")).one()
    assert json.loads(event.payload)["seed"] == SEED


def test_a_draw_needs_a_frozen_plan_and_a_seed(session, tmp_path):
    make_uploads(session, {"036001": 2})
    plan = make_plan(session)
    with pytest.raises(InvalidInput, match="not frozen"):
        draw_sample(session, plan.id, SEED, "test")
    freeze(session, plan.id, tmp_path / "m.csv", "test")
    for seed in ("", "   ", f"{SEED}\n"):
        with pytest.raises(InvalidInput, match="seed"):
            draw_sample(session, plan.id, seed, "test")
    assert session.exec(select(AuditDraw)).all() == []


def test_the_same_seed_repeats_the_draw_and_another_seed_is_refused(session, tmp_path):
    make_uploads(session, {"036001": 5})
    plan = make_plan(session)
    first = make_draw(session, plan.id, tmp_path / "m.csv")
    again = draw_sample(session, plan.id, SEED, "test")
    assert again.repeated and again.as_json() == first.as_json()
    with pytest.raises(InvalidInput, match="already drawn with seed"):
        draw_sample(session, plan.id, "99", "test")
    assert len(session.exec(select(AuditTask)).all()) == 3


def test_an_expansion_continues_the_ticket_order(session, tmp_path):
    make_uploads(session, {"036001": 8})
    plan = make_plan(session)
    make_draw(session, plan.id, tmp_path / "m.csv")
    stratum = "036001/uncorroborated"
    second = expand(session, plan.id, {stratum: 2}, "test")
    ranking = draw(read_manifest(tmp_path / "m.csv").items, SEED, 5)
    assert [t.id for t in second.items] == [t.id for t in ranking[3:5]]
    assert second.draw.round == 2 and json.loads(second.draw.sizes) == {stratum: 5}
    with pytest.raises(InvalidInput, match="no stratum"):
        expand(session, plan.id, {"999999": 1}, "test")
    expand(session, plan.id, {stratum: 10}, "test")  # only 3 left: takes them
    with pytest.raises(InvalidInput, match="already drawn in full"):
        expand(session, plan.id, {stratum: 1}, "test")
    assert verify(session, plan.id, SEED, tmp_path / "m.csv", "test").ok


def test_verify_names_what_differs(session, tmp_path):
    make_uploads(session, {"036001": 6})
    plan = make_plan(session)
    make_draw(session, plan.id, tmp_path / "m.csv")
    result = verify(session, plan.id, SEED, tmp_path / "m.csv", "test")
    assert result.ok and (result.rounds, result.items) == (1, 3)
    wrong_seed = verify(session, plan.id, "12345", tmp_path / "m.csv", "test")
    assert not wrong_seed.ok and any("seed" in d for d in wrong_seed.differences)
    lines = (tmp_path / "m.csv").read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(lines[:-1]) + "\n")
    shorter = verify(session, plan.id, SEED, tmp_path / "short.csv", "test")
    assert any(d.startswith("manifest:") for d in shorter.differences)
    task = session.exec(select(AuditTask)).first()
    task.ticket = "0.5"
    session.add(task)
    session.flush()
    tampered = verify(session, plan.id, SEED, tmp_path / "m.csv", "test")
    assert any("round 1: the stored draw has" in d for d in tampered.differences)
