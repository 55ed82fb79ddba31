"""Malformed agreement documents are refused with the file, the field and the line."""

from __future__ import annotations

import pytest

from tests.agreements.samples import STANDALONE, agreement_yaml, apply, line_of, refused, stored
from tests.factories import make_vendor


@pytest.fixture
def nccer(app) -> str:
    return make_vendor(app, "nccer", "NCCER", agreement=False)


# (text to replace in STANDALONE, replacement, field named, text on the line named, message part)
BAD_FIELDS = [
    ("id: tn-nccer-2026", "id: TN NCCER", "id", "id:", "is not an agreement id"),
    ("vendor: nccer", "vendor: nobody", "vendor", "vendor:", "unknown vendor 'nobody'"),
    ("  - KY", "  - XX", "states", "  - XX", "'XX' is not a two-letter USPS state code"),
    ("  - KY", "  - Kentucky", "states", "  - Kentucky", "is not a two-letter USPS state code"),
    ("  - KY", "  - TN", "states", "  - TN\neffective_from", "TN repeats line 5"),
    ("states:\n  - TN\n  - KY", "states: TN", "states", "states:", "must be a list"),
    ("states:\n  - TN\n  - KY", "states: []", "states", "states:", "at least one"),
    ("  - NCCER007", "  - ZZZZZ999", "credentials", "  - ZZZZZ999",
     "ZZZZZ999 is not in the credential registry"),
    ("  - NCCER007", "  - welding", "credentials", "  - welding", "nor shaped like one"),
    ("school_code,", "shoe_size,", "data_elements", "shoe_size",
     "'shoe_size' is not a canonical column"),
    ("birth_date, ", "", "data_elements", "data_elements:",
     "must include every required column; missing birth_date"),
    ("effective_to: 2028-06-30", "effective_to: 2025-01-01", "effective_to", "effective_to:",
     "2025-01-01 is before effective_from 2026-07-01"),
    ("effective_from: 2026-07-01", "effective_from: 2026-02-30", "effective_from",
     "effective_from:", "2026-02-30 is not a day of the calendar"),
    ("effective_from: 2026-07-01", "effective_from: 07/01/2026", "effective_from",
     "effective_from:", "write YYYY-MM-DD"),
    ("ferpa_basis: audit_evaluation", "ferpa_basis: marketing", "ferpa_basis", "ferpa_basis:",
     "'marketing' is not one of studies, audit_evaluation, directory, consent"),
    ("termination: 365", "termination: -5", "retention_days_after_termination", "termination:",
     "must be a whole number of days"),
    ("termination: 365", "termination: 4000", "retention_days_after_termination",
     "termination:", "from 0 to 3650"),
    ("email: steward@example.gov", "email: steward", "contacts", "  - {name: TN",
     "email: String should match pattern"),
    ("role: state}", "role: state, phone: 1}", "contacts", "  - {name: TN",
     "'phone' is unknown or repeated"),
    ("title: Tennessee / NCCER exam results", "title: ", "title", "title:", "must not be empty"),
    ("title: Tennessee / NCCER exam results", "title: [a, b]", "title", "title:",
     "must be a single value"),
    ("purpose: Count", "purpose: Count\nefective_to: 2029-01-01\n#", "efective_to",
     "efective_to:", "unknown field; did you mean effective_to?"),
    ("purpose: Count", "vendor: nccer\n#", "vendor", "vendor: nccer\n#", "repeats line 3"),
    ("purpose: Count credential attainment for school accountability\n", "", "purpose",
     "id:", "required field is missing"),
    ("contacts:", "connector: \ncontacts:", "connector", "connector:", "must not be empty"),
    ("contacts:", "template: maybe\ncontacts:", "template", "template:", "must be true or false"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "field", "at", "says"), BAD_FIELDS)
def test_a_bad_field_is_refused_naming_field_and_line(app, nccer, old, new, field, at, says):
    text = STANDALONE.replace(old, new, 1)
    assert text != STANDALONE
    message = refused(app, text, "tn.yaml")
    assert message.startswith(f"tn.yaml line {line_of(text, at)}, {field}: "), message
    assert says in message, message


def test_the_line_is_the_one_an_editor_shows():
    """Pin the arithmetic `line_of` does, so the table above is not self-confirming."""
    assert line_of(STANDALONE, "effective_to:") == 8
    assert line_of(STANDALONE, "  - NCCER007") == 11
    assert line_of(STANDALONE, "school_code") == 13


def test_date_order_message_reads_as_documented(app, nccer):
    text = STANDALONE.replace("effective_to: 2028-06-30", "effective_to: 2025-01-01")
    message = refused(app, text, "tn.yaml")
    assert message == "tn.yaml line 8, effective_to: 2025-01-01 is before effective_from 2026-07-01"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("id: a\ntitle: [unclosed\nvendor: nccer\n", 3, "not valid YAML"),
        ("id: a\n  title: indented wrongly\n", 2, "not valid YAML"),
        ("id: a\ntitle: \x07bell\n", 2, "not valid YAML: character U+0007 is not allowed"),
        ("id: a\n---\nid: b\n", 2, "expected a single document in the stream"),
        ("", 1, "the document is empty"),
        ("# only a comment\n", 1, "the document is empty"),
        ("\n- id: a\n", 2, "an agreement is `field: value` lines"),
        ("id: a\n[b]: c\n", 2, "(not a name): unknown field"),
    ],
)
def test_a_malformed_document_is_refused_with_its_line(app, nccer, text, line, says):
    message = refused(app, text, "x.yaml")
    assert message.startswith(f"x.yaml line {line}"), message
    assert says in message


def test_a_bad_mapping_is_refused_at_the_mapping_line(app, nccer):
    base = agreement_yaml()
    unknown_target = base + "mapping:\n  columns:\n    Card Number: card\n"
    message = refused(app, unknown_target, "m.yaml")
    line = line_of(unknown_target, "mapping:")
    assert message.startswith(f"m.yaml line {line}, mapping: [columns] 'Card Number' maps to")
    assert "not a canonical column" in message
    unknown_key = base + "mapping:\n  encodng: latin-1\n"
    assert "mapping: unknown keys ['encodng']" in refused(app, unknown_key, "m.yaml")
    not_permitted = base + "mapping:\n  columns: {Middle: middle_name}\n"
    message = refused(app, not_permitted, "m.yaml")
    assert message == (
        f"m.yaml line {line}, mapping: the mapping fills middle_name, which data_elements "
        "does not permit"
    )


def test_a_good_mapping_is_kept_with_the_terms(app, nccer):
    text = agreement_yaml() + "mapping:\n  encoding: latin-1\n  columns: {DOB: birth_date}\n"
    apply(app, text)
    assert stored(app, "tn-nccer-2026").mapping == {
        "encoding": "latin-1",
        "columns": {"DOB": "birth_date"},
    }


def test_yaml_1_1_booleans_and_numbers_are_read_as_written(app, nccer):
    """`NO` is not false and a quoted or plain value means the same thing."""
    text = agreement_yaml(
        states='["tn", KY]', title="2026", retention_days_after_termination='"30"'
    )
    apply(app, text)
    terms = stored(app, "tn-nccer-2026")
    assert (terms.states, terms.title, terms.retention_days) == (("TN", "KY"), "2026", 30)
    norway = agreement_yaml(id="no-state", states="[NO]")
    assert "'NO' is not a two-letter USPS state code" in refused(app, norway)
