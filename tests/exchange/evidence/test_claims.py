"""The claim sent with an upload: each wrong or missing field named, its value never echoed."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.evidence.claims import FIELDS, parse_claim
from exchange.evidence.refusals import EvidenceRefused
from tests.exchange.evidence.samples import claim

TODAY = date(2026, 11, 27)


def test_a_good_claim_is_cleaned(session):
    parsed = parse_claim(
        session,
        claim(student_name="  José   O'Brien-Nguyễn ", credential_code="adesk002",
              birth_date="03/14/2008"),
        now=TODAY,
    )  # fmt: skip
    assert parsed.student_name == "José O'Brien-Nguyễn"
    assert parsed.credential_code == "ADESK002"
    assert parsed.birth_date == date(2008, 3, 14)
    assert parsed.school_year == "2025-26"


BAD_CLAIMS = {
    "unknown credential code": ("credential_code", "NOPE9999", "unknown_credential"),
    "school year not YYYY-YY": ("school_year", "2025/2026", "invalid_claim"),
    "school year years not consecutive": ("school_year", "2025-27", "invalid_claim"),
    "school year in the far future": ("school_year", "2040-41", "invalid_claim"),
    "birth date in the future": ("birth_date", "2030-01-01", "invalid_claim"),
    "birth date impossible": ("birth_date", "2008-02-30", "invalid_claim"),
    "birth date before 1900": ("birth_date", "1899-12-31", "invalid_claim"),
    "date earned in the future": ("date_earned", "2027-01-01", "invalid_claim"),
    "earned as a toddler": ("date_earned", "2010-05-01", "invalid_claim"),
    "student id with spaces": ("state_student_id", "LA 100", "invalid_claim"),
    "student name a formula": ("student_name", "=HYPERLINK(\"x\")", "invalid_claim"),
    "student name digits": ("student_name", "R2D2", "invalid_claim"),
    "school code with a slash": ("school_code", "036/001", "invalid_claim"),
    "pathway with markup": ("graduation_pathway", "<script>", "invalid_claim"),
    "missing school code": ("school_code", "", "missing_field"),
    "missing student name": ("student_name", None, "missing_field"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_CLAIMS))
def test_bad_claim_names_the_field(session, case):
    field, value, code = BAD_CLAIMS[case]
    fields = claim(**{field: value or ""})
    if value is None:
        del fields[field]
    with pytest.raises(EvidenceRefused) as caught:
        parse_claim(session, fields, now=TODAY)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert field in str(caught.value)
    if value:
        assert value not in str(caught.value)  # messages go to the event log: no student data


def test_every_field_is_required(session):
    for field in FIELDS:
        fields = claim()
        del fields[field]
        with pytest.raises(EvidenceRefused) as caught:
            parse_claim(session, fields, now=TODAY)
        assert caught.value.field == field
