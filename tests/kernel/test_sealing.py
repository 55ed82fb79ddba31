"""Row tokens (`kernel.sealing.seal_rows`): what bulk loads and the ORM store of an exam
result's student values, and what only the row they belong to opens."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from agreements.vendors import add_vendor
from credx.app import App
from exchange.models import Delivery, ExamResult, StoredBlob
from kernel import sealing
from kernel.database import session_scope


@pytest.fixture
def keys(app: App):
    return sealing.keys_of(app.engine)  # registered: the read path opens with these


ROWS = [
    ["Zoë", None, 'O\'Brien "the" \\ second', "2001-02-03"],
    ["", "  padded  ", "ab=c", None],
    [None, None, None, None],
]


def seal(keys, rows, records, scope="agreement:a"):
    columns = [list(column) for column in zip(*rows, strict=True)]
    return sealing.seal_rows(keys, scope, "exam_results", columns, records)


def test_a_row_token_opens_into_the_values_it_sealed(keys):
    records = ["R1", "R2", "R3"]
    tokens = seal(keys, ROWS, records)
    key_id, _ = keys.key_for("agreement:a")
    assert all(t.startswith(b"r1." + key_id.encode() + b".") for t in tokens)
    opened = [sealing.open_row(t, "exam_results", r) for t, r in zip(tokens, records, strict=True)]
    assert opened == ROWS  # None and "" stay apart, text comes back exactly
    assert not any(b"Zo" in t or b"Brien" in t or b"2001" in t for t in tokens)


def test_tokens_are_deterministic_per_record_and_values(keys):
    first = seal(keys, [ROWS[0], ROWS[0]], ["R1", "R2"])
    again = seal(keys, [ROWS[0]], ["R1"])
    changed = seal(keys, [["Zoe", *ROWS[0][1:]]], ["R1"])
    other_scope = seal(keys, [ROWS[0]], ["R1"], scope="agreement:b")
    assert again[0] == first[0]  # an unchanged re-sent row: the same token
    assert first[0] != first[1]  # equal values of two records do not show as equal
    assert changed[0] != first[0] and other_scope[0] != first[0]


def test_a_token_moved_to_another_row_or_table_does_not_open(keys):
    [token] = seal(keys, [ROWS[0]], ["R1"])
    with pytest.raises(sealing.KeyDestroyed):
        sealing.open_row(token, "exam_results", "R2")
    with pytest.raises(sealing.KeyDestroyed):
        sealing.open_row(token, "rosters", "R1")
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    with pytest.raises(sealing.KeyDestroyed):
        sealing.open_row(tampered, "exam_results", "R1")


def test_a_destroyed_key_leaves_the_token_unreadable(keys):
    [token] = seal(keys, [ROWS[0]], ["R1"], scope="agreement:gone")
    assert keys.destroy("agreement:gone")
    with pytest.raises(sealing.KeyDestroyed):
        sealing.open_row(token, "exam_results", "R1")


def test_the_unit_separator_is_refused_not_smuggled(keys):
    with pytest.raises(ValueError, match="unit separator"):
        seal(keys, [["a\x1fb", None, None, None]], ["R1"])
    with pytest.raises(ValueError, match="unit separator"):
        seal(keys, [ROWS[0]], ["R\x1f1"])


def test_the_orm_writes_a_row_token_and_reads_the_values_back(app: App):
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id="nccer", name="NCCER")
        session.add(StoredBlob(id="b1", store_key="k", sha256="0" * 64, size=1,
                               master_key_id="m"))  # fmt: skip
        session.flush()
        session.add(Delivery(id=1, vendor_id="nccer", source="t", original_name="f", size=1,
                             sha256="0" * 64, blob_id="b1"))  # fmt: skip
        session.flush()
        session.add(ExamResult(
            delivery_id=1, row_number=1, vendor_record_id="R1", candidate_id="C1",
            first_name="Zoë", last_name="Lee", birth_date=date(2008, 1, 2), state="LA",
            district_code="036", credential_code="NCCER001", exam_code="CORE",
            exam_date=date(2025, 5, 1), result="pass",
        ))  # fmt: skip
    with app.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT candidate_id, first_name, birth_date, sealed_row FROM exam_results"
        ).one()  # fmt: skip
    assert stored[:3] == (None, None, None) and bytes(stored[3]).startswith(b"r1.")
    with session_scope(app.engine) as session:
        row = session.exec(select(ExamResult)).one()
        assert (row.candidate_id, row.first_name, row.middle_name, row.birth_date) == (
            "C1", "Zoë", None, date(2008, 1, 2)
        )  # fmt: skip
        row.score = 712.0  # an update keeps the values
    with session_scope(app.engine) as session:
        row = session.exec(select(ExamResult)).one()
        assert (row.first_name, row.score) == ("Zoë", 712.0)


@pytest.mark.parametrize("key_length", [0, 32, 64, 65, 100])
def test_bulk_hmac_is_rfc_2104_hmac_sha256(key_length):
    import hmac
    import os

    key = os.urandom(key_length)
    mac = sealing.hmac_sha256(key)
    for message in (b"", b"abc", os.urandom(1000)):
        assert mac(message) == hmac.digest(key, message, "sha256")


def test_blind_indexes_fold_case_and_space(keys):
    assert keys.blind_indexes([" abc ", None, "  ", "ABC"]) == [
        keys.blind_index("abc"), None, None, keys.blind_index("abc")
    ]  # fmt: skip
