"""Sealing a batch of exam results for a bulk load: each row's student values become one row
token under the field key of its scope (its agreement), before the rows reach the database.

Shared by the ingest's writer and its forked checking process: for a large
file the child seals the rows it checked, on the second core
(`exchange.checking`).  A row token is deterministic (`kernel.sealing.seal_rows`),
so it is also how a re-sent row that changed nothing is recognised.
"""

from __future__ import annotations

from exchange.models import ExamResult, exam_scope
from kernel import sealing
from kernel.rows import table_of

ROW_CONTEXT = table_of(ExamResult).name


def row_tokens(
    keys: sealing.FieldKeys, agreements: list, typed: dict[str, list]
) -> list[bytes]:
    """Each row's token: its `ExamResult.__sealed__` values of `typed` (`typed_columns`' lists)
    under its scope, bound to its `vendor_record_id`."""
    columns = [typed[column] for column in ExamResult.__sealed__]
    records = typed["vendor_record_id"]
    groups = _scopes(agreements, typed["state"])
    if len(groups) == 1:
        (scope,) = groups
        return sealing.seal_rows(keys, scope, ROW_CONTEXT, columns, records)
    out: list[bytes] = [b""] * len(records)
    for scope, rows in groups.items():
        tokens = sealing.seal_rows(
            keys, scope, ROW_CONTEXT, [[column[i] for i in rows] for column in columns],
            [records[i] for i in rows],
        )  # fmt: skip
        for i, token in zip(rows, tokens, strict=True):
            out[i] = token
    return out


def opened_columns(
    tokens: list[bytes | None], records: list[str], legacy: dict[str, list]
) -> dict[str, list]:
    """The sealed values of rows read in bulk (not through the ORM): each row's from its
    token, or, for a row written before revision 0025 that `credx init` has not moved yet,
    from `legacy` (its own sealed columns, as their column types opened them); typed as
    the ORM reads them."""
    out = {name: list(values) for name, values in legacy.items()}
    for row, (token, record) in enumerate(zip(tokens, records, strict=True)):
        if token is None:
            continue
        values = sealing.opened_values(ExamResult, token, record)
        for name, value in zip(ExamResult.__sealed__, values, strict=True):
            out[name][row] = value
    return out


def _scopes(agreements: list, states: list) -> dict[str, list[int]]:
    """The rows of each field-key scope; most files fall under one agreement, found at once."""
    distinct = set(agreements)
    if len(distinct) == 1 and None not in distinct:
        (agreement,) = distinct
        return {exam_scope(agreement, ""): list(range(len(agreements)))}
    groups: dict[str, list[int]] = {}
    for row, pair in enumerate(zip(agreements, states, strict=True)):
        groups.setdefault(exam_scope(*pair), []).append(row)
    return groups
