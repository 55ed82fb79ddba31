"""Plans and frozen populations on SQLite and PostgreSQL."""

import pytest
from sqlmodel import select

from audit.manifests import read_manifest
from audit.plans.models import AuditPopulationItem, PlanStatus
from audit.plans.plans import create_plan, describe, freeze, list_plans
from eventlog.models import Event
from kernel.errors import InvalidInput, NotFound
from tests.audit.plans.factories import make_plan, make_upload, make_uploads, vendor_result


def test_freeze_writes_the_canonical_manifest_and_publishes_its_digest(session, tmp_path):
    uploads = make_uploads(session, {"036001": 4, "036002": 2})
    make_upload(session, school_year="2024-25")  # another year: out of scope
    make_upload(session, state="TN", school_code="TN0001")  # another state: out of scope
    vendor_result(session, uploads[0])
    plan = make_plan(session)
    frozen = freeze(session, plan.id, tmp_path / "m.csv", "test")
    manifest = read_manifest(tmp_path / "m.csv")
    assert frozen.sha256 == manifest.sha256 == manifest.canonical_sha256 == plan.manifest_sha256
    assert plan.status == PlanStatus.FROZEN
    assert {i.id for i in manifest.items} == {f"evidence:{u.id}" for u in uploads}
    assert frozen.strata() == {"036001": 1, "036001/uncorroborated": 3,
                               "036002/uncorroborated": 2}  # fmt: skip
    rows = session.exec(select(AuditPopulationItem)).all()
    assert {r.evidence_id for r in rows if r.corroborated} == {uploads[0].id}
    event = session.exec(select(Event).where(Event.action == "audit:population:frozen")).one()
    assert frozen.sha256 in event.payload


def test_the_population_does_not_change_after_freezing(session, tmp_path):
    make_uploads(session, {"036001": 3})
    plan = make_plan(session)
    first = freeze(session, plan.id, tmp_path / "a.csv", "test")
    make_upload(session)  # a late upload
    again = freeze(session, plan.id, tmp_path / "b.csv", "test")
    assert not again.newly_frozen and again.sha256 == first.sha256
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_an_empty_population_is_refused_with_the_state_and_year(session, tmp_path):
    make_upload(session, school_year="2024-25")
    plan = make_plan(session)
    with pytest.raises(InvalidInput, match=r"population is empty.*LA.*2025-26"):
        freeze(session, plan.id, tmp_path / "m.csv", "test")
    assert not (tmp_path / "m.csv").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rule": "fixed"}, "fixed-count"),
        ({"rule": "attribute", "confidence": 0.95}, "tolerable"),
        ({"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "0.5"}, "less than"),
        ({"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "lots"}, "full, same"),
        ({"rule": "attribute", "tolerable": 0.05, "minimum": 9, "maximum": 3}, "--min 9"),
    ],
)
def test_invalid_rules_are_refused_naming_the_option(session, fields, message):
    with pytest.raises(InvalidInput, match=message):
        create_plan(session, name="p", state="LA", school_year="2025-26", rules=fields, actor="t")


def test_plans_state_their_rates_and_names_are_unique(session):
    plan = make_plan(session, rule="attribute", confidence=0.95, tolerable=0.05,
                     uncorroborated_rate="2")  # fmt: skip
    rates = describe(plan).rates
    shown = describe(plan).as_json()  # what `credx audit plan show --json` prints
    assert list(shown) == [
        "id", "state", "school_year", "status", "manifest_sha256", "frozen_at", "created_by",
        "rules", "rates",
    ]  # fmt: skip
    assert shown["rates"] == rates and shown["rules"]["confidence"] == 0.95
    assert "95% confidence" in rates["corroborated"] and "5.00% tolerable" in rates["corroborated"]
    assert rates["uncorroborated"].startswith("2 times")
    assert rates["tightened"] == "tolerable 2.50%"
    with pytest.raises(InvalidInput, match="already exists"):
        make_plan(session)
    with pytest.raises(InvalidInput, match="'2025-27' is not a school year"):
        make_plan(session, "other", school_year="2025-27")
    assert [p.id for p in list_plans(session, "LA")] == [plan.id]
    assert list_plans(session, "TN") == []
    with pytest.raises(NotFound):
        freeze(session, "nope", None, "t")
