"""A state's users never see another state's students: enforced in the session, not the UI."""

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from access.scope import Scope, scoped_session
from agreements.disclosures import Release, disclosures_of_student
from eventlog.models import Event
from exchange.deliveries import ingest_file
from exchange.models import ExamResult
from exchange.releases import release_results
from kernel.database import session_scope
from kernel.errors import InvalidInput
from tests.agreements.per_state import agree, multi_state_file
from tests.factories import make_vendor


@pytest.fixture
def loaded(app, tmp_path) -> int:
    vendor = make_vendor(app, vendor_id="certiport", agreement=False)
    agree(app, vendor, "tn-certiport", ["TN"], ["MICRO001", "MICRO002"])
    agree(app, vendor, "la-certiport", ["LA"], ["MICRO001"])
    return ingest_file(app, multi_state_file(tmp_path), vendor, actor="test").delivery_id


def test_an_unfiltered_query_in_a_state_session_sees_only_that_state(app, loaded):
    with scoped_session(app.engine, Scope.for_states(["tn"], "auditor")) as session:
        states = {r.state for r in session.exec(select(ExamResult))}
        count = session.exec(select(func.count()).select_from(ExamResult)).one()
        assert states == {"TN"} and count == 2
        assert session.get(ExamResult, (loaded, 3)) is None  # row 3 is Louisiana's


def test_a_state_session_cannot_change_another_states_rows(app, loaded):
    with scoped_session(app.engine, Scope.for_states(["LA"], "clerk")) as session:
        session.exec(update(ExamResult).values(score=0))
        session.commit()
    with session_scope(app.engine) as session:
        scores = {r.state: r.score for r in session.exec(select(ExamResult))}
    assert scores["LA"] == 0 and scores["TN"] == 810.0


def test_operators_see_every_state(app, loaded):
    with scoped_session(app.engine, Scope.operator("ops")) as session:
        assert {r.state for r in session.exec(select(ExamResult))} == {"TN", "LA"}


def test_scopes_refuse_unknown_states():
    with pytest.raises(InvalidInput, match="'XX' is not a two-letter USPS state code"):
        Scope.for_states(["XX"], "someone")
    with pytest.raises(InvalidInput, match="name at least one state"):
        Scope.for_states([], "someone")


def test_a_release_is_limited_to_scope_and_recorded_per_student(app, loaded):
    scope = Scope.for_states(["TN"], "ops")
    release = Release("Tennessee DOE research office", "CTE outcome study", "TN results")
    with scoped_session(app.engine, scope) as session, session.begin():
        rows = release_results(session, scope, release, actor="cli:ops")
    assert {r["state"] for r in rows} == {"TN"} and len(rows) == 2
    with session_scope(app.engine) as session:
        [disclosure] = disclosures_of_student(session, "TN0000001")
        assert disclosure.recipient == "Tennessee DOE research office"
        assert disclosure.agreement_id == "tn-certiport" and disclosure.record_count == 2
        assert disclosures_of_student(session, "LA0000003") == []
        event = session.get(Event, disclosure.event_seq)
        assert event.action == "disclosure:records:released"
        assert "Tennessee" in event.payload and "TN0000001" not in event.payload
