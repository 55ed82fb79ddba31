"""Sealing a batch of exam results for a bulk load: each row's student values under the field
key of its scope (its agreement), before the rows reach the database.

Shared by the ingest's writer thread and its forked checking process: for a
large file the child seals while the parent writes, so the AES-GCM work runs
on the second core (`exchange.checking`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

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
    scopes = [exam_scope(a, s) for a, s in zip(agreements, data["state"], strict=True)]
    names = ExamResult.__sealed__
    sealed = {column: _sealed(keys, column, scopes, data[column]) for column in names}
    sealed["sealed_digest"] = _digests(keys, [data[column] for column in names])
    return sealed


def _digests(keys: sealing.FieldKeys, columns: list[list]) -> list[str | None]:
    """Each row's keyed digest of its sealed values, exactly as sent (case kept: hex-encoded
    before the blind index, which folds case)."""
    return [
        keys.blind_index(json.dumps([None if v is None else str(v) for v in row]).encode().hex())
        for row in zip(*columns, strict=True)
    ]


def _sealed(
    keys: sealing.FieldKeys, column: str, scopes: list[str], values: list
) -> list[str | None]:
    """Seal one column's values, each under its row's scope (a file rarely has more than one)."""
    sealers: dict[str, Callable[[str | None], str | None]] = {}
    out = []
    for scope, value in zip(scopes, values, strict=True):
        seal = sealers.get(scope)
        if seal is None:
            seal = sealers[scope] = sealing.sealer(keys, scope, column)
        out.append(seal(value if value is None else str(value)))
    return out
