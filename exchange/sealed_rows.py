"""Sealing a batch of exam results for a bulk load: each row's student values under the field
key of its scope (its agreement), before the rows reach the database.

Shared by the ingest's writer thread and its forked checking process: for a
large file the child seals while the parent writes, so the AES-GCM work runs
on the second core (`exchange.checking`).
"""

from __future__ import annotations

import json
from binascii import hexlify

import pandas as pd

from exchange.models import ExamResult, exam_scope
from kernel import sealing
from schemas.exam_results import typed_columns


def seal_columns(
    keys: sealing.FieldKeys, good: pd.DataFrame, typed: dict[str, list] | None = None,
    digests: list[str | None] | None = None, columns: tuple[str, ...] = ExamResult.__sealed__,
) -> dict[str, list]:  # fmt: skip
    """`columns` (the sealed ones by default) of `good` (rows with their agreement_id) sealed,
    and the rows' digests, as database-ready lists."""
    data = typed if typed is not None else typed_columns(good)
    groups = _scopes(good["agreement_id"].tolist(), data["state"])
    sealed = {column: _sealed(keys, column, groups, data[column]) for column in columns}
    sealed["sealed_digest"] = digests if digests is not None else row_digests(keys, data)
    return sealed


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


def row_digests(keys: sealing.FieldKeys, typed: dict[str, list]) -> list[str | None]:
    """Each row's keyed digest of its sealed values (`typed_columns`' lists): how a re-sent
    row is recognised without opening its sealed values."""
    return _digests(keys, [typed[column] for column in ExamResult.__sealed__])


def _digests(keys: sealing.FieldKeys, columns: list[list]) -> list[str | None]:
    """Each row's keyed digest of its sealed values, exactly as sent (case kept: hex-encoded
    before the blind index, which folds case).

    The digest is the blind index of the hex of `json.dumps` of the row's values as text;
    the JSON is spelled out here (the same bytes, without json's per-call cost) because
    stored digests must keep matching re-sent rows.
    """
    quote = json.encoder.encode_basestring_ascii  # what json.dumps uses by default
    quoted = [
        ["null" if v is None else quote(str(v)) for v in column]
        if None in column or not all(type(v) is str for v in column)
        else list(map(quote, column))
        for column in columns
    ]
    texts = map("[%s]".__mod__, map(", ".join, zip(*quoted, strict=True)))
    mac = keys.blind_mac()  # a blind index of the hex text: upper case is its normal form
    return [mac(hexlify(text.encode()).upper()).hex()[:32] for text in texts]


def _sealed(
    keys: sealing.FieldKeys, column: str, groups: dict[str, list[int]], values: list
) -> list[str | None]:
    """Seal one column's values, each under its row's scope (a file rarely has more than one)."""
    if len(groups) == 1:
        (scope,) = groups
        return sealing.seal_many(keys, scope, column, values)
    out: list[str | None] = [None] * len(values)
    for scope, rows in groups.items():
        tokens = sealing.seal_many(keys, scope, column, [values[i] for i in rows])
        for i, token in zip(rows, tokens, strict=True):
            out[i] = token
    return out
