"""Applying agreement documents: versions, templates and adoptions, overlaps, standing."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from agreements.events import AgreementEvent
from agreements.models import Agreement, AgreementVersion, Vendor
from agreements.standing import (
    Status,
    agreement_history,
    list_agreements,
    record_expiry_warnings,
    standing_of,
)
from agreements.store import agreements_in_force
from agreements.terms import Contact, FerpaBasis, Terms
from eventlog.log import EventLog
from eventlog.models import Event
from kernel.clock import utcnow
from kernel.database import session_scope
from schemas.exam_results import REQUIRED_COLUMNS
from tests.agreements.samples import (
    LA_ADOPTION,
    STANDALONE,
    TEMPLATE,
    TN_ADOPTION,
    agreement_yaml,
    apply,
    line_of,
    refused,
    stored,
)
from tests.factories import make_vendor


@pytest.fixture
def nccer(app) -> str:
    return make_vendor(app, "nccer", "NCCER", agreement=False)


def versions(app, agreement_id: str) -> list[AgreementVersion]:
    with session_scope(app.engine) as session:
        return agreement_history(session, agreement_id)


def test_a_standalone_agreement_is_stored_with_its_resolved_terms(app, nccer):
    result = apply(app, STANDALONE)
    assert (result.agreement_id, result.version, result.changed) == ("tn-nccer-2026", 1, True)
    terms = stored(app, "tn-nccer-2026")
    assert terms.vendor == "nccer" and terms.states == ("TN", "KY")
    assert (terms.effective_from, terms.effective_to) == (date(2026, 7, 1), date(2028, 6, 30))
    assert terms.credentials == ("NCCER001", "NCCER007")
    assert "school_code" in terms.data_elements and "middle_name" not in terms.data_elements
    assert terms.ferpa_basis is FerpaBasis.AUDIT_EVALUATION and terms.retention_days == 365
    assert terms.contacts == (
        Contact(name="TN Data Steward", email="steward@example.gov", role="state"),
    )
    assert not terms.is_template and terms.template is None and terms.connector is None
    with session_scope(app.engine) as session:
        events = EventLog(session).for_subject("agreement:tn-nccer-2026")
    assert [e.action for e in events] == [AgreementEvent.AGREEMENT_APPLIED]


def test_reapplying_is_a_no_op_and_a_change_is_a_new_version_keeping_the_old(app, nccer):
    apply(app, STANDALONE)
    again = apply(app, STANDALONE)
    assert (again.version, again.changed) == (1, False)
    assert len(versions(app, "tn-nccer-2026")) == 1
    changed_text = STANDALONE.replace(
        "retention_days_after_termination: 365", "retention_days_after_termination: 400"
    )
    changed = apply(app, changed_text)
    assert (changed.version, changed.changed) == (2, True)
    history = versions(app, "tn-nccer-2026")
    assert [v.version for v in history] == [1, 2]
    assert history[0].document == STANDALONE and history[1].document == changed_text
    assert history[0].document_sha256 == hashlib.sha256(STANDALONE.encode()).hexdigest()
    assert terms_of_version(history[0]).retention_days == 365
    assert stored(app, "tn-nccer-2026").retention_days == 400


def terms_of_version(version: AgreementVersion) -> Terms:
    return Terms.model_validate_json(version.terms)


def test_a_template_adopted_by_two_states_resolves_each_states_overrides(app, nccer):
    assert apply(app, TEMPLATE).agreement_id == "southern-nccer"
    apply(app, TN_ADOPTION)
    apply(app, LA_ADOPTION)
    tn, la = stored(app, "tn-nccer"), stored(app, "la-nccer")
    assert tn.credentials == ("NCCER001", "NCCER007", "NCCER014")
    assert la.credentials == ("NCCER001", "NCCER021")
    assert (tn.states, la.states) == (("TN",), ("LA",))
    assert (tn.retention_days, la.retention_days) == (365, 1461)
    assert tn.template == la.template == "southern-nccer"
    assert not tn.is_template and not la.is_template
    template = stored(app, "southern-nccer")
    assert template.is_template and template.states == ("TN", "LA", "KY")
    for adopted in (tn, la):  # what they do not set is the template's
        assert adopted.vendor == "nccer" and adopted.connector == "nccer-sftp"
        assert adopted.data_elements == template.data_elements
        assert adopted.effective_to == date(2029, 6, 30)
    with session_scope(app.engine) as session:
        in_force = agreements_in_force(session, "nccer", date(2027, 1, 1))
    assert [t.id for t in in_force] == ["la-nccer", "tn-nccer"]  # the template governs nothing


def test_a_changed_template_re_resolves_its_adoptions(app, nccer):
    apply(app, TEMPLATE)
    apply(app, TN_ADOPTION)
    amended = apply(app, TEMPLATE.replace("connector: nccer-sftp", "connector: nccer-s3"))
    assert stored(app, "southern-nccer").connector == "nccer-s3"
    assert stored(app, "tn-nccer").connector == "nccer-s3"
    assert stored(app, "tn-nccer").template_version == 2
    ((adoption, version, changes),) = [(a.agreement_id, a.version, a.changes)
                                       for a in amended.adoptions]  # fmt: skip
    assert (adoption, version) == ("tn-nccer", 2)
    assert changes["connector"] == ["nccer-sftp", "nccer-s3"]


@pytest.mark.parametrize(
    ("change", "field", "at", "says"),
    [
        (("states: [TN]", "states: [TN, FL]"), "states", "states:", "FL is not a member"),
        (("title: Tennessee / NCCER", "title: T\nvendor: certiport"), "vendor", "vendor:",
         "not the vendor of template southern-nccer"),
        (("adopts: southern-nccer", "adopts: tn-2026"), "adopts", "adopts:", "is an agreement"),
        (("adopts: southern-nccer", "adopts: nowhere"), "adopts", "adopts:", "apply the template"),
        (("id: tn-nccer\n", "id: tn-nccer\ntemplate: true\n"), "template", "template:", "not both"),
        (("states: [TN]\n", ""), "states", "adopts:", "required field is missing"),
        (("id: tn-nccer", "id: southern-nccer"), "id", "id:", "an id of its own"),
        (("credentials: [", "effective_to: 2026-01-01\ncredentials: ["), "effective_to",
         "effective_to:", "2026-01-01 is before effective_from 2026-07-01"),
    ],
)  # fmt: skip
def test_a_bad_adoption_is_refused_naming_field_and_line(app, nccer, change, field, at, says):
    make_vendor(app, "certiport", "Certiport", agreement=False)
    apply(app, TEMPLATE)
    apply(app, agreement_yaml(id="tn-2026", states="[KY]", credentials="[NCCER027]"))
    text = TN_ADOPTION.replace(*change)
    assert text != TN_ADOPTION
    message = refused(app, text, "tn.yaml")
    assert message.startswith(f"tn.yaml line {line_of(text, at)}, {field}: "), message
    assert says in message


def test_an_inherited_date_conflict_points_at_the_field_the_adoption_sets(app, nccer):
    apply(app, TEMPLATE)
    text = TN_ADOPTION + "effective_from: 2030-01-01\n"
    message = refused(app, text, "tn.yaml")
    assert message == "tn.yaml line 6, effective_from: 2030-01-01 is after effective_to 2029-06-30"


def test_a_refused_document_changes_and_deletes_nothing(app, nccer):
    apply(app, STANDALONE)
    before = table_counts(app)
    refused(app, STANDALONE.replace("title: Tennessee", "title: Changed\nvendor_typo: x\n#"))
    refused(app, STANDALONE.replace("  - TN\n", "  - TN\n  - ZZ\n"))
    assert table_counts(app) == before
    terms = stored(app, "tn-nccer-2026")
    assert terms.title == "Tennessee / NCCER exam results" and terms.states == ("TN", "KY")


def table_counts(app) -> dict[str, int]:
    with session_scope(app.engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Vendor, Agreement, AgreementVersion, Event)
        }


def test_a_new_version_keeps_the_vendor_and_the_kind(app, nccer):
    make_vendor(app, "certiport", "Certiport", agreement=False)
    apply(app, STANDALONE)
    moved = STANDALONE.replace("vendor: nccer", "vendor: certiport")
    assert refused(app, moved, "a.yaml").startswith(
        "a.yaml line 3, vendor: tn-nccer-2026 is with nccer"
    )
    as_template = "template: true\n" + STANDALONE
    assert refused(app, as_template, "a.yaml").startswith(
        "a.yaml line 2, id: tn-nccer-2026 is already an agreement"
    )


def test_a_purged_agreement_takes_no_new_version_but_reapplying_it_is_a_no_op(app, nccer):
    apply(app, STANDALONE)
    with session_scope(app.engine) as session:
        session.get(Agreement, "tn-nccer-2026").purged_at = utcnow()
    assert apply(app, STANDALONE).changed is False
    changed = STANDALONE.replace("title: Tennessee", "title: Renamed")
    message = refused(app, changed, "a.yaml")
    assert message.startswith("a.yaml line 1, id: tn-nccer-2026's data were destroyed on ")
    assert [v.version for v in versions(app, "tn-nccer-2026")] == [1]


def test_conflicting_overlapping_agreements_are_refused_naming_the_other(app, nccer):
    apply(app, agreement_yaml(id="tn-a", states="[TN, KY]", credentials="[NCCER001, NCCER007]"))
    text = agreement_yaml(
        id="tn-b", states="[TN]", credentials="[NCCER007]", effective_from="2028-01-01",
        effective_to="2030-06-30", retention_days_after_termination="30",
    )  # fmt: skip
    message = refused(app, text, "b.yaml")
    line = line_of(text, "retention_days_after_termination:")
    assert message.startswith(f"b.yaml line {line}, retention_days_after_termination: "), message
    assert "conflicts with agreement tn-a" in message
    assert "TN NCCER007 from 2028-01-01 to 2028-06-30" in message
    other_columns = agreement_yaml(
        id="tn-b", data_elements="[" + ", ".join((*REQUIRED_COLUMNS, "school_code")) + "]"
    )
    assert "data_elements: conflicts with agreement tn-a" in refused(app, other_columns)
    other_basis = agreement_yaml(id="tn-b", ferpa_basis="studies")
    assert "ferpa_basis: conflicts with agreement tn-a" in refused(app, other_basis)


def test_other_states_or_later_periods_are_allowed_one_state_overlapping_is_not(app, nccer):
    apply(app, agreement_yaml(id="tn-a", states="[TN]", credentials="[NCCER001]"))
    reordered = "[" + ", ".join(reversed(REQUIRED_COLUMNS)) + "]"
    differing = {"retention_days_after_termination": "30", "ferpa_basis": "studies"}
    other_state = agreement_yaml(id="ky-a", states="[KY]", **differing)
    later = agreement_yaml(
        id="tn-d", effective_from="2028-07-01", effective_to="2030-06-30", **differing
    )
    template = TEMPLATE.replace(
        "retention_days_after_termination: 365", "retention_days_after_termination: 9"
    )
    for text in (other_state, later, template):
        assert apply(app, text).changed
    # issue 18 item 2: two agreements of one vendor in force at once for one state
    same_terms = agreement_yaml(id="tn-b", credentials="[NCCER001]", data_elements=reordered)
    other_code = agreement_yaml(id="tn-c", credentials="[NCCER027]", **differing)
    for text, other in ((same_terms, "tn-a"), (other_code, "tn-a")):
        message = refused(app, text)
        assert "would both be in force for nccer in TN" in message and other in message


def test_an_adoption_conflicting_on_an_inherited_term_points_at_adopts(app, nccer):
    apply(app, TEMPLATE)
    apply(
        app,
        agreement_yaml(id="tn-a", credentials="[NCCER014]", retention_days_after_termination="30"),
    )
    message = refused(app, TN_ADOPTION, "tn.yaml")
    assert message.startswith(
        "tn.yaml line 2, retention_days_after_termination: conflicts with agreement tn-a"
    )


def agreement_row(terms: Terms, **fields) -> Agreement:
    return Agreement(
        id=terms.id, vendor_id=terms.vendor, title=terms.title, is_template=terms.is_template,
        effective_from=terms.effective_from, effective_to=terms.effective_to,
        terms=terms.model_dump_json(), **fields,
    )  # fmt: skip


def sample_terms(**fields) -> Terms:
    base = dict(
        id="a", title="A", vendor="nccer", states=("TN",), effective_from=date(2026, 7, 1),
        effective_to=date(2028, 6, 30), credentials=("NCCER001",), data_elements=REQUIRED_COLUMNS,
        purpose="p", ferpa_basis=FerpaBasis.STUDIES, retention_days=1,
    )  # fmt: skip
    return Terms(**{**base, **fields})


@pytest.mark.parametrize(
    ("day", "status", "expiring"),
    [
        (date(2026, 6, 30), Status.NOT_YET_IN_FORCE, False),
        (date(2026, 7, 1), Status.IN_FORCE, False),
        (date(2028, 4, 30), Status.IN_FORCE, False),  # 61 days left
        (date(2028, 5, 1), Status.IN_FORCE, True),  # 60 days left
        (date(2028, 6, 30), Status.IN_FORCE, True),
        (date(2028, 7, 1), Status.EXPIRED, False),
    ],
)
def test_standing_follows_the_effective_period(day, status, expiring):
    standing = standing_of(agreement_row(sample_terms()), day)
    assert (standing.status, standing.expiring_soon) == (status, expiring)


def test_templates_and_purged_agreements_are_never_expiring():
    in_window = date(2028, 6, 1)
    template = standing_of(agreement_row(sample_terms(is_template=True)), in_window)
    purged = standing_of(agreement_row(sample_terms(), purged_at=utcnow()), in_window)
    assert (template.status, template.expiring_soon) == (Status.TEMPLATE, False)
    assert (purged.status, purged.expiring_soon) == (Status.PURGED, False)


def test_expiry_is_logged_once_per_agreement_and_end_date(app, nccer):
    apply(app, agreement_yaml(id="tn-a", effective_to="2028-06-30"))
    apply(app, agreement_yaml(id="ky-a", states="[KY]", effective_to="2028-08-15"))
    day = date(2028, 6, 1)
    with session_scope(app.engine) as session:
        standings = list_agreements(session, day)
        assert [s.expiring_soon for s in standings] == [False, True]  # ky-a, tn-a
        assert record_expiry_warnings(session, standings, "test") == 1
        assert record_expiry_warnings(session, list_agreements(session, day), "test") == 0
    apply(app, agreement_yaml(id="tn-a", effective_to="2028-07-15"))
    with session_scope(app.engine) as session:
        later = list_agreements(session, day + timedelta(days=30))
        assert record_expiry_warnings(session, later, "test") == 2  # tn-a's new date, ky-a
        events = EventLog(session).for_subject("agreement:tn-a")
    warned = [e.payload for e in events if e.action == AgreementEvent.AGREEMENT_EXPIRING]
    assert warned == ['{"effective_to":"2028-06-30"}', '{"effective_to":"2028-07-15"}']
