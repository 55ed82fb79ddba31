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
# added after release (never renamed): the row as a spreadsheet numbers it (the header is
# row 1, so data row 1 is sheet row 2), and the vendor's own id of the row where known
EXTRA_COLUMNS = ("sheet_row", "vendor_record_id")


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


def sheet_row(row_number: int) -> int:
    """Data row n is on spreadsheet row n + 1, below the header (blank lines aside)."""
    return row_number + 1


def _extras(row: Rejection, key: str) -> dict:
    """sheet_row and vendor_record_id, for a vendor's file (rosters keep their columns)."""
    if key != "delivery_id":
        return {}
    return {
        "sheet_row": None if row.row_number is None else sheet_row(row.row_number),
        "vendor_record_id": getattr(row, "vendor_record_id", None),
    }


def write_csv(rows: Sequence[Rejection], stream: TextIO, *, key: str = "delivery_id") -> None:
    """`key` names the column of what the rows belong to (`import_id` for rosters)."""
    writer = csvfile.writer(stream)
    extras = EXTRA_COLUMNS if key == "delivery_id" else ()
    writer.writerow((key, *REPORT_COLUMNS[1:], *extras))
    for row in rows:
        more = _extras(row, key)
        writer.writerow([
            getattr(row, key),
            "" if row.row_number is None else row.row_number,
            row.column,
            row.value,
            row.reason,
            *("" if more[name] is None else more[name] for name in extras),
        ])  # fmt: skip


def write_json(rows: Sequence[Rejection], stream: TextIO, *, key: str = "delivery_id") -> None:
    json.dump(
        [{**{name: getattr(row, name) for name in (key, *REPORT_COLUMNS[1:])},
          **_extras(row, key)} for row in rows],
        stream, ensure_ascii=False, indent=1,
    )  # fmt: skip
    stream.write("\n")
