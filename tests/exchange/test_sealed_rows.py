"""Row tokens made in bulk from Arrow (`exchange.sealed_rows.row_tokens`), as a forked checker
and the writer make them: they must be the very tokens the ORM's `sealing.seal_rows` makes,
or a re-sent row would never be recognised as unchanged and rows would not open."""

from __future__ import annotations

import pyarrow as pa
import pytest

from credx.app import App
from exchange.models import ExamResult, exam_scope
from exchange.sealed_rows import ROW_CONTEXT, row_tokens
from kernel import sealing

SEALED = ExamResult.__sealed__
ROWS = [  # candidate, state id, first, middle, last, birth date
    ["VC1", "LA123", "Zoë", None, 'O\'Brien "the" \\ second', "2001-02-03"],
    ["VC2", None, "", "  padded  ", "ab=c", None],
    ["VC3", None, None, None, None, None],
    ["VC4", "MS9", "Nguyễn", "Lee", "D'Angelo", "2007-07-31"],
]
RECORDS = ["R1", "R2", "R3", "R4"]


@pytest.fixture
def keys(app: App):
    return sealing.keys_of(app.engine)


def table(rows, agreements, states=None) -> pa.Table:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(SEALED)}
    return pa.table({
        **columns, "vendor_record_id": RECORDS[: len(rows)],
        "state": states or ["LA"] * len(rows), "agreement_id": pa.array(agreements, pa.string()),
    })  # fmt: skip


def orm_tokens(keys, rows, records, scope) -> list[bytes]:
    columns = [list(column) for column in zip(*rows, strict=True)]
    return sealing.seal_rows(keys, scope, ROW_CONTEXT, columns, records)


def test_tokens_made_from_arrow_are_the_orm_tokens_and_open_to_the_same_values(keys):
    tokens = row_tokens(keys, table(ROWS, ["a"] * len(ROWS)))
    assert tokens == orm_tokens(keys, ROWS, RECORDS, exam_scope("a", ""))
    opened = [sealing.open_row(t, ROW_CONTEXT, r) for t, r in zip(tokens, RECORDS, strict=True)]
    assert opened == ROWS  # None and "" stay apart, text comes back exactly


def test_each_row_is_sealed_under_its_own_agreement_or_its_state(keys):
    agreements = ["a", "b", None, "a"]
    states = ["LA", "LA", "MS", "LA"]
    tokens = row_tokens(keys, table(ROWS, agreements, states))
    for row, token in enumerate(tokens):
        scope = exam_scope(agreements[row], states[row])
        [expected] = orm_tokens(keys, [ROWS[row]], [RECORDS[row]], scope)
        assert token == expected, scope
    assert len({t.split(b".")[1] for t in tokens}) == 3  # three keys: a, b, unassigned:MS


def test_a_value_holding_the_field_separator_is_refused(keys):
    rows = [[*ROWS[0][:2], "Jo" + sealing.FIELD_SEPARATOR + "hn", *ROWS[0][3:]]]
    with pytest.raises(ValueError, match="unit separator"):
        row_tokens(keys, table(rows, ["a"]))
