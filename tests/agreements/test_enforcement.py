"""Agreements decide what is loaded, under which agreement, and which columns are kept."""

from datetime import date, timedelta

from sqlmodel import select

from agreements.models import DeliveryAgreement
from exchange.deliveries import ingest_file
from exchange.models import Delivery
from kernel.clock import today
from kernel.database import session_scope
from tests.agreements.per_state import agree, multi_state_file
from tests.factories import (
    blanket_terms,
    csv_text,
    exam_row,
    make_vendor,
    rejections_of,
    results_of,
    write_file,
)


def test_a_delivery_without_an_agreement_in_force_is_quarantined_whole(app, tmp_path):
    vendor = make_vendor(app, agreement=False)
    agree(app, vendor, "expired", ["TN"], ["MICRO001"], effective_to=today() - timedelta(days=1))
    path = write_file(tmp_path, "nightly.csv", csv_text([exam_row(1), exam_row(2)]))
    outcome = ingest_file(app, path, vendor, actor="test")
    assert outcome.status == "quarantined" and outcome.rows_loaded == 0
    assert "no data-sharing agreement" in outcome.error and today().isoformat() in outcome.error
    assert results_of(app, outcome.delivery_id) == []
    with session_scope(app.engine) as session:
        delivery = session.get(Delivery, outcome.delivery_id)
        assert app.vault(session).read_bytes(delivery.blob_id) == path.read_bytes()


def test_a_consortium_file_is_split_by_state_and_scope(app, tmp_path):
    vendor = make_vendor(app, agreement=False)
    agree(app, vendor, "tn-certiport", ["TN"], ["MICRO001", "MICRO002"])
    agree(app, vendor, "la-certiport", ["LA"], ["MICRO001"])
    outcome = ingest_file(app, multi_state_file(tmp_path), vendor, actor="test")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected) == (
        "partially_loaded",
        3,
        2,
    )
    assert outcome.agreements == ["la-certiport", "tn-certiport"]
    loaded = {r.row_number: r.agreement_id for r in results_of(app, outcome.delivery_id)}
    assert loaded == {1: "tn-certiport", 2: "tn-certiport", 3: "la-certiport"}
    reasons = {
        r.row_number: (r.column, r.value, r.reason) for r in rejections_of(app, outcome.delivery_id)
    }
    assert reasons[4][:2] == ("credential_code", "MICRO002") and "la-certiport" in reasons[4][2]
    assert reasons[5][:2] == ("state", "FL") and "not party" in reasons[5][2]
    with session_scope(app.engine) as session:
        links = session.exec(select(DeliveryAgreement.agreement_id)).all()
    assert sorted(links) == ["la-certiport", "tn-certiport"]


def test_columns_an_agreement_does_not_permit_are_never_stored(app, tmp_path):
    vendor = make_vendor(app, agreement=False)
    agree(app, vendor, "tn-certiport", ["TN"], ["MICRO001", "MICRO002"])
    minimal = tuple(
        c for c in blanket_terms(vendor, []).data_elements
        if c not in ("score", "passing_score", "state_student_id")
    )  # fmt: skip
    agree(app, vendor, "la-certiport", ["LA"], ["MICRO001"], data_elements=minimal)
    outcome = ingest_file(app, multi_state_file(tmp_path), vendor, actor="test")
    assert outcome.columns_dropped == ["passing_score", "score", "state_student_id"]
    by_row = {r.row_number: r for r in results_of(app, outcome.delivery_id)}
    assert by_row[3].score is None and by_row[3].passing_score is None
    assert by_row[3].state_student_id is None
    assert by_row[1].score == 800.0 and by_row[1].passing_score is not None


def test_the_agreements_column_mapping_is_used_when_none_is_given(app, tmp_path):
    vendor = make_vendor(app, agreement=False)
    mapping = {"columns": {"Card Number": "candidate_id", "DOB": "birth_date"}}
    agree(app, vendor, "tn-nccer", ["TN"], ["MICRO001"], mapping=mapping)
    row = exam_row(1, state="TN", credential_code="MICRO001", birth_date="2008-03-04")
    headers = {**{c: c for c in row}, "candidate_id": "Card Number", "birth_date": "DOB"}
    text = csv_text([{headers[k]: v for k, v in row.items()}], columns=tuple(headers.values()))
    outcome = ingest_file(app, write_file(tmp_path, "n.csv", text), vendor, actor="test")
    assert outcome.status == "loaded", outcome
    [loaded] = results_of(app, outcome.delivery_id)
    assert loaded.candidate_id == row["candidate_id"]
    assert loaded.birth_date == date(2008, 3, 4)


def test_a_file_sent_again_after_its_original_was_destroyed_is_new_data(app, tmp_path):
    vendor = make_vendor(app)
    path = write_file(tmp_path, "n.csv", csv_text([exam_row(1), exam_row(2)]))
    first = ingest_file(app, path, vendor, actor="test")
    assert ingest_file(app, path, vendor, actor="test").status == "duplicate"
    with session_scope(app.engine) as session:
        app.vault(session).shred(session.get(Delivery, first.delivery_id).blob_id)
    again = ingest_file(app, path, vendor, actor="test")
    assert again.status == "loaded" and again.duplicate_of is None
