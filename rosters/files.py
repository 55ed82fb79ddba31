"""Reading a roster file (CSV, gzip'd CSV or Parquet) into a frame of text cells.

Rosters are one file per state and year, far smaller than vendor feeds, so
they are read whole.  The vendor-file readers' checks are reused: format by
content, UTF-8 with the line and byte of the first bad character, header
problems refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exchange.readers import FileRejected, check_encoding, csv_header, sniff_format
from schemas.rosters import OPTIONAL_ROSTER_COLUMNS, REQUIRED_ROSTER_COLUMNS, ROSTER_COLUMNS


@dataclass(frozen=True)
class RosterFile:
    format: str
    frame: pd.DataFrame  # canonical columns as text (None for empty), index = row number from 1
    ignored: list[str]  # headers that are not roster columns: not loaded
    headers: dict[str, str]  # canonical -> the file's own header, for error reports


def read_roster(path: Path) -> RosterFile:
    """The rows of a roster; `FileRejected` says why a file cannot be read at all."""
    fmt = sniff_format(path)
    table = _parquet(path) if fmt == "parquet" else _csv(path, fmt)
    headers = _resolve(table.column_names)
    data = {}
    for canonical in ROSTER_COLUMNS:
        if canonical in headers:
            column = pc.utf8_trim(pc.cast(table[headers[canonical]], pa.string()), characters=" ")
            data[canonical] = pc.if_else(pc.equal(column, ""), None, column)
        else:
            data[canonical] = pa.nulls(table.num_rows, pa.string())
    frame = pa.table(data).to_pandas()
    frame.index = pd.RangeIndex(1, table.num_rows + 1)
    ignored = [h for h in table.column_names if h not in headers.values()]
    return RosterFile(fmt, frame, ignored, headers)


def _csv(path: Path, fmt: str) -> pa.Table:
    """Every column as text, so "09" stays "09" and a refused value is shown as sent."""
    check_encoding(path, fmt, "utf-8")
    header = csv_header(path, fmt, "utf-8")
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header})
    try:
        with pa.input_stream(str(path), compression="gzip" if fmt == "csv.gz" else None) as raw:
            return pacsv.read_csv(raw, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise FileRejected(f"the CSV could not be parsed: {exc}") from None


def _parquet(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"the Parquet file could not be read: {exc}") from None
    columns = []
    for name in table.column_names:
        column = table[name]
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.date32())
        columns.append(pc.cast(column, pa.string()))
    return pa.table(dict(zip(table.column_names, columns, strict=True)))


def _resolve(header: list[str]) -> dict[str, str]:
    """canonical -> file header, matching names case-insensitively."""
    stripped = [h.strip().lower() for h in header]
    repeated = sorted({h for h in stripped if stripped.count(h) > 1})
    if repeated:
        raise FileRejected(f"the header repeats column(s) {', '.join(repeated)}")
    found = {name.strip().lower(): name for name in header}
    missing = [c for c in REQUIRED_ROSTER_COLUMNS if c not in found]
    if missing:
        raise FileRejected(
            f"missing required column(s): {', '.join(missing)}. The header was: "
            f"{', '.join(header)}. A roster needs {', '.join(REQUIRED_ROSTER_COLUMNS)} "
            f"(optional: {', '.join(sorted(OPTIONAL_ROSTER_COLUMNS))})."
        )
    return {c: found[c] for c in ROSTER_COLUMNS if c in found}
