"""Per-row error reports a vendor can act on.

Values are written as received, except that a value a spreadsheet would run
as a formula is prefixed with an apostrophe (OWASP's CSV-injection advice):
the report must be safe to open in Excel even when the file it describes was
not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol, TextIO

from kernel import csvfile

REPORT_COLUMNS = ("delivery_id", "row_number", "column", "value", "reason")


class Rejection(Protocol):
    """A rejected row of a vendor file (`RejectedRow`) or of a roster (`RejectedRosterRow`)."""

    @property
    def row_number(self) -> int | None: ...
    @property
    def column(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...
    @property
    def reason(self) -> str: ...


def write_csv(rows: Sequence[Rejection], stream: TextIO, *, key: str = "delivery_id") -> None:
    """`key` names the column of what the rows belong to (`import_id` for rosters)."""
    writer = csvfile.writer(stream)
    writer.writerow((key, *REPORT_COLUMNS[1:]))
    for row in rows:
        writer.writerow([
            getattr(row, key),
            "" if row.row_number is None else row.row_number,
            row.column,
            row.value,
            row.reason,
        ])  # fmt: skip


def write_json(rows: Sequence[Rejection], stream: TextIO, *, key: str = "delivery_id") -> None:
    json.dump(
        [{name: getattr(row, name) for name in (key, *REPORT_COLUMNS[1:])} for row in rows],
        stream, ensure_ascii=False, indent=1,
    )  # fmt: skip
    stream.write("\n")
