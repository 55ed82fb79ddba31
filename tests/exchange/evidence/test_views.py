"""The JSON of an upload, pinned per role: pages, scripts and the auditor's screen read
these keys, in this order; a role that does not see flags gets no duplicate keys at all."""

from __future__ import annotations

import pytest

from access.principals import Principal, Role
from exchange.evidence.services import EvidenceService
from tests.exchange.evidence.samples import AUDITOR, DISTRICT, OPERATOR, claim, png_bytes, write

ADMIN = Principal("tok-admin", Role.ADMIN)

COMMON = [
    "id", "state", "district", "state_student_id", "student_name", "birth_date",
    "school_code", "school_year", "graduation_pathway", "credential_code", "date_earned",
    "media_type", "size", "sha256", "status", "has_preview", "badge", "uploaded_by",
    "created_at", "flags",
]  # fmt: skip
WITH_DUPLICATES = [*COMMON, "duplicate_image_of", "duplicate_claim_of"]


@pytest.mark.parametrize(
    ("who", "keys"),
    [(DISTRICT, COMMON), (OPERATOR, COMMON), (AUDITOR, WITH_DUPLICATES), (ADMIN, WITH_DUPLICATES)],
    ids=["district", "operator", "auditor", "admin"],
)
def test_each_role_gets_its_fields_in_order(app, session, tmp_path, who, keys):
    path = write(tmp_path, "scan.png", png_bytes(seed=1))
    receipt = EvidenceService(session, app, DISTRICT).submit(claim(), path, filename="scan.png")
    service = EvidenceService(session, app, who)
    shown = service.describe(service.get(receipt.id)).as_json()
    assert list(shown) == keys
    assert (shown["birth_date"], shown["flags"], shown["has_preview"]) == (
        claim()["birth_date"], [], True,
    )  # fmt: skip
    if "duplicate_image_of" in keys:  # seen, and null: it repeats nothing
        assert (shown["duplicate_image_of"], shown["duplicate_claim_of"]) == (None, None)
