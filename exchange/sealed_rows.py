"""Sealing a batch of exam results for a bulk load: each row's student values under the field
key of its scope (its agreement), before the rows reach the database.

Shared by the ingest's writer thread and its forked checking process: for a
large file the child seals while the parent writes, so the AES-GCM work runs
on the second core (`exchange.checking`).
"""

from __future__ import annotations

import json

import pandas as pd

from exchange.models import ExamResult, exam_scope
from kernel import sealing
from schemas.exam_results import typed_columns


def seal_columns(
    keys: sealing.FieldKeys, good: pd.DataFrame, typed: dict[str, list] | None = None
) -> dict[str, list]:
    """The sealed columns of `good` (rows with their agreement_id), as database-ready lists."""
    data = typed if typed is not None else typed_columns(good)
    agreements = good["agreement_id"].tolist()
    groups: dict[str, list[int]] = {}
    for row, pair in enumerate(zip(agreements, data["state"], strict=True)):
        groups.setdefault(exam_scope(*pair), []).append(row)
    names = ExamResult.__sealed__
    sealed = {column: _sealed(keys, column, groups, data[column]) for column in names}
    sealed["sealed_digest"] = _digests(keys, [data[column] for column in names])
    return sealed


def _digests(keys: sealing.FieldKeys, columns: list[list]) -> list[str | None]:
    """Each row's keyed digest of its sealed values, exactly as sent (case kept: hex-encoded
    before the blind index, which folds case).

    The digest is the blind index of the hex of `json.dumps` of the row's values as text;
    the JSON is spelled out here (the same bytes, without json's per-call cost) because
    stored digests must keep matching re-sent rows.
    """
    quote = json.encoder.encode_basestring_ascii  # what json.dumps uses by default
    texts = [
        "[" + ", ".join("null" if v is None else quote(str(v)) for v in row) + "]"
        for row in zip(*columns, strict=True)
    ]
    return keys.blind_indexes([text.encode().hex() for text in texts])


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
