"""The attainment table as a page shows it: each cell a value, `suppressed` (hidden as a
small number) or `not applicable` (nothing to count), and the same cells for a download.

A missing count is suppressed, except `completed_sequence` when the state has no pathway
map (not applicable); a missing rate is suppressed when its numerator or denominator is,
not applicable when the denominator is zero; a missing priority tier or weight is not
applicable (the credential is not on the state's priority list).
"""

from __future__ import annotations

import io
from typing import Any

from kernel import csvfile

SUPPRESSED = "suppressed"
NOT_APPLICABLE = "not applicable"
RATES = {"pass_rate": ("passed_exam", "sat_exam"),
         "graduates_earned_rate": ("graduates_earned", "graduating_class")}  # fmt: skip
ALWAYS_OPTIONAL = ("priority_tier", "priority_weight")


def marker(row: dict[str, Any], column: str, pathways: bool) -> str | None:
    """`suppressed` or `not applicable` for a missing cell (None for a present one)."""
    if row.get(column) is not None:
        return None
    if column in ALWAYS_OPTIONAL or (column == "completed_sequence" and not pathways):
        return NOT_APPLICABLE
    if column in RATES:
        top, bottom = RATES[column]
        if row.get(bottom) == 0:
            return NOT_APPLICABLE
        if marker(row, top, pathways) == NOT_APPLICABLE:
            return NOT_APPLICABLE
        return SUPPRESSED
    return SUPPRESSED


def shown_rows(columns: tuple[str, ...], rows: list[dict], pathways: bool) -> list[dict]:
    """Rows as displayed: a value, or its marker; a rate as a whole percentage."""
    shown = []
    for row in rows:
        cells = {}
        for column in columns:
            mark = marker(row, column, pathways)
            value = row[column]
            if mark is None and column.endswith("_rate"):
                value = f"{value * 100:.0f}%"
            cells[column] = mark or value
        shown.append(cells)
    return shown


def as_csv(columns: tuple[str, ...], shown: list[dict]) -> str:
    """The shown table as CSV, through the one writer that neutralises formulas."""
    buffer = io.StringIO()
    writer = csvfile.writer(buffer)
    writer.writerow(columns)
    writer.writerows([row.get(c) for c in columns] for row in shown)
    return buffer.getvalue()


def as_parquet(columns: tuple[str, ...], shown: list[dict]) -> bytes:
    """The shown table as Parquet: every cell as text, exactly as displayed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [None if r[c] is None else str(r[c]) for r in shown] for c in columns})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
