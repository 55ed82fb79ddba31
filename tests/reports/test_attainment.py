"""Attainment report: denominators on a hand-computed fixture, windows, isolation, no data.

The fixture (tests/reports/fixtures/world.py, `small_world`) is LA 2025-26,
graduating class 2026, pathways CAD -> ADESK001 and DES -> ADOBE001:

    student  school cohort pathway  what happened (in 2025-26 unless said)
    p1       S1     2026   CAD      ADESK001 failed, then passed (a retake)
    p2       S1     2026   CAD      ADESK001 failed; an upload of it audit-verified
    p3       S1     2027   DES      ADOBE001 passed
    p4       S2     2026   DES      ADESK001 passed in 2024-25; ADOBE001 upload, audit: discrepancy
    p5       S2     2026   -        ADOBE001 upload, never audited
    (u6)     S2     2026   CAD      roster row not linked to a person: no results can reach it
    plus an LA pass of a person on no roster row, and a TN student with a pass and an upload.
"""

from __future__ import annotations

import pytest

from eventlog.log import EventLog
from kernel.errors import InvalidInput, NotFound
from reports.attainment import ReportRequest, attainment_report
from reports.events import ReportEvent
from reports.models import PriorityCredential
from reports.pathways import parse_pathways
from schemas.credentials import known_codes
from tests.reports.fixtures.world import CAD, DESIGN, PATHWAYS_YAML, World, small_world

COUNTS = ("enrolled", "completed_sequence", "sat_exam", "passed_exam", "earned_verified",
          "earned_claimed", "graduating_class", "graduates_earned")  # fmt: skip


def report(session, state="LA", **options):
    pathways = parse_pathways(PATHWAYS_YAML.replace("LA", state), "p.yaml", known_codes(session))
    request = ReportRequest(state, "2025-26", **{"min_cell": 1, **options})
    return attainment_report(session, request, pathways, "test")


def cells(found, *keys: str) -> dict[tuple, tuple]:
    """{dimension values: the eight counts} of a report's rows."""
    rows = found.records()
    return {tuple(r[k] for k in keys): tuple(r[c] for c in COUNTS) for r in rows}


def test_denominators_by_school_and_credential(session):
    small_world(session)
    generated = report(session)
    found = cells(generated, "school", "credential")
    #                    enrolled completed sat passed verified claimed class grads_earned
    # S1 ADESK001: S1 has p1 p2 p3; p1 p2 took CAD; p1 p2 sat (p1's retake counts once);
    # p1 passed; verified: p1 (vendor pass) and p2 (audit-verified upload); claimed the same;
    # class of 2026 in S1: p1 p2, both earned it (verified)
    assert found[("S1", CAD)] == (3, 2, 2, 1, 2, 2, 2, 2)
    # S1 ADOBE001: p3 took DES, sat and passed; p3 graduates in 2027, so no graduate earned it
    assert found[("S1", DESIGN)] == (3, 1, 1, 1, 1, 1, 2, 0)
    # S2 ADESK001: S2 has p4 p5 u6; u6 took CAD; p4's pass was in 2024-25 (outside the year)
    assert found[("S2", CAD)] == (3, 1, 0, 0, 0, 0, 3, 0)
    # S2 ADOBE001: p4 took DES; uploads of p5 (unaudited) and p4 (discrepancy) are claimed only
    assert found[("S2", DESIGN)] == (3, 1, 0, 0, 0, 2, 3, 0)
    # a school's Total adds its credentials (attainments); enrolled and class are the school's
    assert found[("S1", "Total")] == (3, 3, 3, 2, 3, 3, 2, 2)
    # a credential's Total adds schools: here each student sits in one school, so persons
    assert found[("Total", CAD)] == (6, 3, 2, 1, 2, 2, 5, 2)
    # grand total: completed 3 (CAD: p1 p2 u6) + 2 (DES: p3 p4); sat 2 + 1; passed 1 + 1;
    # verified 2 + 1; claimed 2 + 3 (p3's pass, p4 and p5's uploads)
    assert found[("Total", "Total")] == (6, 5, 3, 2, 3, 5, 5, 2)
    # what was left out is said, and the run is an event
    assert any("1 roster students are not linked" in note for note in generated.notes)
    assert any("1 exam results or uploads belong to no student" in n for n in generated.notes)
    events = EventLog(session).for_subject("report:attainment:LA:2025-26")
    assert [e.action for e in events] == [ReportEvent.REPORT_GENERATED]


def test_rates_priorities_basis_cohort_and_subgroups(session):
    small_world(session)
    listed = PriorityCredential(
        state="LA", school_year="2025-26", credential_code=CAD, tier="high-demand", weight=1.25,
        document_sha256="0" * 64,
    )  # fmt: skip
    session.add(listed)
    rows = {(r["school"], r["credential"]): r for r in report(session).records()}
    assert (rows[("S2", CAD)]["priority_tier"], rows[("S2", CAD)]["priority_weight"]) == (
        "high-demand", 1.25,
    )  # fmt: skip
    assert rows[("S1", DESIGN)]["priority_tier"] is None  # not on LA's list
    assert rows[("S1", CAD)]["pass_rate"] == 0.5  # p1 of p1, p2
    assert rows[("S1", CAD)]["graduates_earned_rate"] == 1.0  # p1, p2 of the class p1, p2
    assert rows[("S2", CAD)]["pass_rate"] is None  # nobody sat: no rate, not 0
    assert rows[("S1", CAD)]["district"] == "D1"  # school codes repeat across districts
    found = cells(report(session, basis="claimed"), "school", "credential")
    assert found[("S2", DESIGN)][-1] == 2  # p4 and p5 (class of 2026) claimed ADOBE001
    found = cells(report(session, cohort=2026), "school", "credential")
    # only the class of 2026 (p1 p2 in S1); p4's 2024-25 pass now counts in S2
    assert found[("S1", CAD)][:3] == (2, 2, 2)
    assert found[("S2", CAD)] == (3, 1, 1, 1, 1, 1, 3, 1)
    assert ("S1", DESIGN) not in found or found[("S1", DESIGN)][2] == 0  # p3 is 2027
    found = report(session, by="gender")
    rows = {r["gender"]: tuple(r[c] for c in COUNTS) for r in found.records()}
    # F: p1 p3 p5 (pathways CAD, DES, none); M: p2 p4 u6 (CAD, DES, CAD).
    # sat any: p1 p3 (F), p2 (M); passed: p1 p3; verified: p1 p3 (F), p2's upload (M)
    assert rows["F"][:5] == (3, 2, 2, 2, 2)
    assert rows["M"][:5] == (3, 3, 1, 0, 1)
    assert "credential" not in found.table.columns


def test_a_state_never_counts_another_states_students(session):
    small_world(session)
    la = cells(report(session), "school", "credential")
    assert la[("Total", "Total")][0] == 6  # the TN student is in no LA cell
    tn = cells(report(session, state="TN"), "school", "credential")
    # TN: one student, one pass of ADESK001, one verified upload of ADOBE001
    assert tn[("S1", CAD)] == (1, 1, 1, 1, 1, 1, 1, 1)
    assert tn[("S1", DESIGN)][4] == 1
    assert tn[("Total", "Total")][0] == 1


def test_a_year_with_no_data_says_so_instead_of_zeros(session):
    small_world(session)
    with pytest.raises(NotFound, match="no roster students for LA 2023-24"):
        attainment_report(session, ReportRequest("LA", "2023-24"), None, "test")
    World(session, school_year="2024-25").student(None, school="S1", cohort=2026)
    with pytest.raises(NotFound, match="no exam result or upload is linked"):
        attainment_report(session, ReportRequest("LA", "2024-25"), None, "test")


def test_pathway_maps_and_requests_are_refused_with_what_to_fix():
    registry = frozenset({CAD, DESIGN})
    parsed = parse_pathways(PATHWAYS_YAML, "la.yaml", registry)
    assert parsed.credentials_of("CAD") == {CAD} and parsed.credentials_of(None) == frozenset()
    with pytest.raises(InvalidInput, match=r"la\.yaml: pathway CAD names unknown credential"):
        parse_pathways(PATHWAYS_YAML.replace(CAD, "ZZZZZ999"), "la.yaml", registry)
    with pytest.raises(InvalidInput, match="exactly the fields state and pathways"):
        parse_pathways("state: LA\n", "la.yaml", registry)
    with pytest.raises(InvalidInput, match="--by school,grade: give distinct names from"):
        ReportRequest("LA", "2025-26", by="school,grade").check()
    with pytest.raises(InvalidInput, match="--basis"):
        ReportRequest("LA", "2025-26", basis="rumoured").check()
    with pytest.raises(InvalidInput, match="'2025-27' is not a school year"):
        ReportRequest("LA", "2025-27").check()
