"""Agreement documents for tests, and applying them as the CLI would."""

from __future__ import annotations

import pytest

from agreements.documents import apply_document
from agreements.store import Stored, get_agreement, terms_of
from agreements.terms import Terms
from credx.app import App
from kernel.database import session_scope
from kernel.errors import InvalidInput
from schemas.exam_results import REQUIRED_COLUMNS

REQUIRED_LIST = "[" + ", ".join(REQUIRED_COLUMNS) + "]"

# Block lists, so an item's line differs from its field's line.
STANDALONE = """\
id: tn-nccer-2026
title: Tennessee / NCCER exam results
vendor: nccer
states:
  - TN
  - KY
effective_from: 2026-07-01
effective_to: 2028-06-30
credentials:
  - NCCER001
  - NCCER007
data_elements: [vendor_record_id, candidate_id, first_name, last_name, birth_date, state,
                district_code, school_code, credential_code, exam_code, exam_date, result]
purpose: Count credential attainment for school accountability
ferpa_basis: audit_evaluation
retention_days_after_termination: 365
contacts:
  - {name: TN Data Steward, email: steward@example.gov, role: state}
"""

BASE_FIELDS = {
    "id": "tn-nccer-2026",
    "title": "Tennessee / NCCER exam results",
    "vendor": "nccer",
    "states": "[TN]",
    "effective_from": "2026-07-01",
    "effective_to": "2028-06-30",
    "credentials": "[NCCER001, NCCER007]",
    "data_elements": REQUIRED_LIST,
    "purpose": "Count credential attainment",
    "ferpa_basis": "audit_evaluation",
    "retention_days_after_termination": "365",
}

TEMPLATE = """\
id: southern-nccer
template: true
title: Southern consortium / NCCER
vendor: nccer
states: [TN, LA, KY]
effective_from: 2026-07-01
effective_to: 2029-06-30
credentials: [NCCER001, NCCER007, NCCER014, NCCER021]
data_elements: [vendor_record_id, candidate_id, first_name, last_name, birth_date, state,
                district_code, credential_code, exam_code, exam_date, result]
purpose: Count credential attainment for accountability
ferpa_basis: audit_evaluation
retention_days_after_termination: 365
connector: nccer-sftp
"""

TN_ADOPTION = """\
id: tn-nccer
adopts: southern-nccer
title: Tennessee / NCCER
states: [TN]
credentials: [NCCER001, NCCER007, NCCER014]
"""

LA_ADOPTION = """\
id: la-nccer
adopts: southern-nccer
title: Louisiana / NCCER
states: [LA]
credentials: [NCCER001, NCCER021]
retention_days_after_termination: 1461
"""


def agreement_yaml(**fields: str | None) -> str:
    """A one-field-per-line document: BASE_FIELDS with `fields` replacing (None drops)."""
    merged = {**BASE_FIELDS, **fields}
    return "".join(f"{key}: {value}\n" for key, value in merged.items() if value is not None)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first occurrence of `fragment`."""
    return text[: text.index(fragment)].count("\n") + 1


def apply(app: App, text: str, source: str = "agreement.yaml") -> Stored:
    with session_scope(app.engine) as session:
        return apply_document(session, text, source, "test")


def refused(app: App, text: str, source: str = "agreement.yaml") -> str:
    """The message with which applying `text` is refused."""
    with pytest.raises(InvalidInput) as caught:
        apply(app, text, source)
    return str(caught.value)


def stored(app: App, agreement_id: str) -> Terms:
    """The resolved terms of an agreement's current version."""
    with session_scope(app.engine) as session:
        return terms_of(get_agreement(session, agreement_id))
