"""Corroboration: a vendor PASS for the same linked person and credential, nothing less."""

from audit.plans.corroboration import corroborated_ids
from tests.audit.plans.factories import link, make_upload, vendor_result


def test_only_a_linked_vendor_pass_for_the_same_credential_corroborates(session):
    passed, failed, other_code, unlinked, linked_alone = (make_upload(session) for _ in range(5))
    vendor_result(session, passed)
    vendor_result(session, failed, result="FAIL")
    vendor_result(session, other_code, credential_code="MICRO002")
    link(session, linked_alone, [])
    make_upload(session)  # never linked
    uploads = [passed, failed, other_code, unlinked, linked_alone]
    assert corroborated_ids(session, uploads) == {passed.id}


def test_a_lower_case_pass_counts_and_a_malformed_exam_key_is_ignored(session):
    upload = make_upload(session)
    vendor_result(session, upload, result="pass")
    other = make_upload(session)
    link(session, other, ["not-a-key"])
    assert corroborated_ids(session, [upload, other]) == {upload.id}
