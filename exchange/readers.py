"""Reading vendor files (CSV, gzip'd CSV, Parquet) into batches of text columns.

Each batch is a pandas frame with canonical column names, every value a
string or null, and the index equal to the row number in the file (1 = the
first data row after the header; blank lines are not counted).  CSV is parsed
by pyarrow; if a record has the wrong number of fields the file is re-read
with Python's csv module, which numbers every record exactly and reports the
broken ones as `RowProblem`s instead of losing them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from agreements.mapping import ColumnMapping
from kernel.errors import InvalidInput
from schemas.columns import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
csv.field_size_limit(MAX_FIELD := 1 << 20)  # one value longer than this is refused by line
# Blocks the fast CSV reader parses at a time: room for a row holding a value of MAX_FIELD
# (a longer row straddles blocks, and the exact reader then refuses it by line), and small,
# so the first rows reach the checks sooner.  Measured on a million-row file, one thread:
# 8 MiB blocks took 0.14 s to the first block and 0.96 CPU s in all, 2 MiB 0.03 and 0.83.
BLOCK_SIZE = 2 << 20
MAX_COLUMNS = 2_000  # far more than any vendor export; a wider header is refused at once
DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
RESULTS, RETRACTION = "results", "retraction"  # what a file carries (`exchange.corrections`)


class FileRejected(InvalidInput):
    """The file as a whole cannot be read; the message tells the vendor why."""

    code = "file_rejected"


class NeedsExactReader(Exception):
    """Raised by the fast CSV path when a record is malformed; the caller re-reads exactly."""


@dataclass(frozen=True)
class RowProblem:
    row_number: int
    reason: str
    value: str | None


@dataclass
class Batch:
    frame: pd.DataFrame
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class VendorFile:
    """An opened vendor file: its format, header resolution, and a way to iterate batches."""

    path: Path
    format: str
    header: list[str]
    columns: dict[str, str]  # file header -> canonical
    ignored: list[str]
    absent: list[str]  # optional canonical columns the file does not carry
    mapping: ColumnMapping
    kind: str = RESULTS

    @property
    def source_header(self) -> dict[str, str]:
        """canonical -> the file's own header, for error reports the vendor recognises."""
        return {canonical: header for header, canonical in self.columns.items()}

    def batches(self, rows: int, exact: bool = False) -> Iterator[Batch]:
        if self.format == "parquet":
            return self._parquet_batches(rows)
        if exact:
            return self._exact_csv_batches(rows)
        return self._fast_csv_batches(rows)

    # CSV, fast path -------------------------------------------------------
    def _fast_csv_batches(self, rows: int) -> Iterator[Batch]:
        def on_invalid_row(_row) -> str:
            return "error"

        try:
            # open_csv already parses the first block, so its errors are handled here too.
            # One thread: a forked checker's parent is writing on the other core.
            reader = pacsv.open_csv(
                _binary_stream(self.path, self.format),
                read_options=pacsv.ReadOptions(
                    column_names=self.header, skip_rows=1, block_size=BLOCK_SIZE, use_threads=False,
                    encoding=self.mapping.encoding,
                ),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in self.header},
                    include_columns=list(self.columns),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=[""],
                ),
            )  # fmt: skip
            yield from self._rebatch(reader, rows)
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if (
                ("Expected" in message and "columns" in message)
                # a header-only file without a final newline: pyarrow cannot skip the header
                or "Could not skip initial" in message
                # one value longer than a block: the exact reader names its line
                or "straddling" in message
            ):
                raise NeedsExactReader(message) from None
            raise FileRejected(f"the file could not be parsed as CSV: {exc}") from None

    def _rebatch(self, record_batches, rows: int) -> Iterator[Batch]:
        pending: list[pa.RecordBatch] = []
        pending_rows, next_row = 0, 1
        for record_batch in record_batches:
            pending.append(record_batch)
            pending_rows += record_batch.num_rows
            if pending_rows >= rows:
                table = pa.Table.from_batches(pending)
                for start in range(0, pending_rows - pending_rows % rows, rows):
                    yield Batch(self._frame(table.slice(start, rows), next_row))
                    next_row += rows
                rest = table.slice(pending_rows - pending_rows % rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield Batch(self._frame(pa.Table.from_batches(pending), next_row))

    # CSV, exact path ------------------------------------------------------
    def _exact_csv_batches(self, rows: int) -> Iterator[Batch]:
        width = len(self.header)
        wanted = [self.header.index(h) for h in self.columns]
        with _text_stream(self.path, self.format, self.mapping.encoding) as text:
            records = _records(csv.reader(text))
            next(records, None)  # header
            cells: list[list[str | None]] = [[] for _ in wanted]
            problems: list[RowProblem] = []
            row_number, first_row = 0, 1
            for record in records:
                if not record:
                    continue  # blank line, as pyarrow skips them
                row_number += 1
                if len(record) != width:
                    problems.append(RowProblem(
                        row_number,
                        f"expected {width} fields, found {len(record)} "
                        "(check for an unquoted comma or a missing delimiter)",
                        ",".join(record)[:1000],
                    ))  # fmt: skip
                    continue
                for target, index in zip(cells, wanted, strict=True):
                    target.append(record[index] or None)
                if row_number - first_row + 1 >= rows:
                    yield self._exact_batch(cells, problems, first_row, row_number)
                    cells, problems, first_row = [[] for _ in wanted], [], row_number + 1
            if row_number >= first_row or problems:
                yield self._exact_batch(cells, problems, first_row, row_number)

    def _exact_batch(self, cells, problems, first_row: int, last_row: int) -> Batch:
        broken = {p.row_number for p in problems}
        index = [n for n in range(first_row, last_row + 1) if n not in broken]
        table = pa.table(
            {h: pa.array(c, pa.string()) for h, c in zip(self.columns, cells, strict=True)}
        )
        frame = self._frame(table, first_row)
        frame.index = pd.Index(index, dtype="int64")
        return Batch(frame, list(problems))

    # Parquet --------------------------------------------------------------
    def _parquet_batches(self, rows: int) -> Iterator[Batch]:
        parquet = pq.ParquetFile(self.path)
        next_row = 1
        for record_batch in parquet.iter_batches(batch_size=rows, columns=list(self.columns)):
            table = pa.Table.from_batches([record_batch])
            table = pa.table({name: _as_text(table[name]) for name in table.column_names})
            yield Batch(self._frame(table, next_row))
            next_row += table.num_rows

    # shared ---------------------------------------------------------------
    def _frame(self, table: pa.Table, first_row: int) -> pd.DataFrame:
        data = {}
        for header, canonical in self.columns.items():
            column = pc.utf8_trim(table[header], characters=" ")
            data[canonical] = pc.if_else(pc.equal(column, ""), None, column)
        for canonical in self.absent:
            default = self.mapping.defaults.get(canonical)
            data[canonical] = (
                pa.nulls(table.num_rows, pa.string())
                if default is None
                else (pa.array([default] * table.num_rows, pa.string()))
            )
        frame = pa.table(data).to_pandas()
        frame.index = pd.RangeIndex(first_row, first_row + table.num_rows)
        return frame


def _records(reader) -> Iterator[list[str]]:
    """csv records; a value over MAX_FIELD or a record csv cannot read is refused by line."""
    try:
        yield from reader
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            raise FileRejected(
                f"line {line} of the file holds a value longer than {MAX_FIELD >> 20} MiB; exam "
                "result values are short, so this is usually a double quote that is never "
                "closed. Correct that line and send the file again"
            ) from None
        raise FileRejected(f"line {line} could not be read as CSV ({exc}); correct it and "
                           "send the file again") from None  # fmt: skip


def _shown(names: list[str], limit: int = 40) -> str:
    """Names for a message, cut short: a hostile header must not become a megabyte of text."""
    shown = ", ".join(name[:100] for name in names[:limit])
    return shown + (f" ... ({len(names) - limit:,} more)" if len(names) > limit else "")


def _refuse_other_delimiter(header: list[str], mapping: ColumnMapping, missing: int) -> None:
    """A header that resolves once split on `;`, tab or `|`: say so, instead of listing
    every required column as missing."""
    line = ",".join(header)
    for delimiter, name in DELIMITERS.items():
        if delimiter not in line:
            continue
        columns, _ = mapping.resolve([h for h in line.split(delimiter) if h.strip()][:MAX_COLUMNS])
        if len(set(REQUIRED_COLUMNS) - set(columns.values())) < missing:
            raise FileRejected(
                f"the file is separated by {name} ({delimiter!r}), not commas: credx reads "
                "comma-separated CSV. Export it again as CSV with commas (values containing a "
                "comma in double quotes)"
            )


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    return pc.cast(column, pa.string())


def sniff_format(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise FileRejected("the file is empty (0 bytes)")
    if head.startswith(GZIP_MAGIC):
        return "csv.gz"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ZIP_MAGIC):
        raise FileRejected("the file is a ZIP archive; send CSV, gzip'd CSV or Parquet")
    return "csv"


def _binary_stream(path: Path, fmt: str):
    return pa.input_stream(str(path), compression="gzip" if fmt == "csv.gz" else None)


def _text_stream(path: Path, fmt: str, encoding: str) -> io.TextIOWrapper:
    raw = gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")  # noqa: SIM115
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def check_encoding(path: Path, fmt: str, encoding: str) -> None:
    """Refuse text that is not valid in the declared encoding, naming the line and byte."""
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        what = "UTF-8"
        advice = (
            "export the file as UTF-8, or ask the state to declare its encoding (e.g. latin-1) "
            "in your column mapping"
        )
    else:
        what = f"{encoding} (the encoding declared in the column mapping)"
        advice = "export the file in that encoding, or ask the state to correct the mapping"
    decoder = codecs.getincrementaldecoder(codec)()
    raw = gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")  # noqa: SIM115
    line, offset = 1, 0
    with raw:
        try:
            while chunk := raw.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = chunk[exc.start : exc.start + 1]
                    line += chunk.count(b"\n", 0, exc.start)
                    raise FileRejected(
                        f"the file is not valid {what}: byte 0x{bad.hex().upper()} on line {line} "
                        f"(byte offset {offset + exc.start}); {advice}"
                    ) from None
                line += chunk.count(b"\n")
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except (EOFError, gzip.BadGzipFile, OSError) as exc:
            if isinstance(exc, FileRejected):
                raise
            raise FileRejected(f"the gzip stream is damaged or truncated: {exc}") from None
        except UnicodeDecodeError:
            raise FileRejected(
                f"the file is not valid {what}: it ends inside a character"
            ) from None


def csv_header(path: Path, fmt: str, encoding: str) -> list[str]:
    with _text_stream(path, fmt, encoding) as text:
        header = next(_records(csv.reader(text)), None)
    if not header:
        raise FileRejected("the file has no header line")
    return header


def open_vendor_file(path: Path, mapping: ColumnMapping) -> VendorFile:
    """Sniff, check encoding and header; `FileRejected` says why a file cannot be read at all."""
    fmt = sniff_format(path)
    if fmt == "parquet":
        try:
            header = pq.ParquetFile(path).schema_arrow.names
        except (pa.ArrowException, OSError) as exc:
            raise FileRejected(f"the Parquet file could not be read: {exc}") from None
    else:
        check_encoding(path, fmt, mapping.encoding)
        header = csv_header(path, fmt, mapping.encoding)
    return describe_header(path, fmt, header, mapping)


def describe_header(path: Path, fmt: str, header: list[str], mapping: ColumnMapping) -> VendorFile:
    """Resolve the header to canonical columns; linear in its width (a hostile header may
    carry a million names)."""
    if len(header) > MAX_COLUMNS:
        raise FileRejected(
            f"the header has {len(header):,} columns; an exam results file has at most "
            f"{MAX_COLUMNS:,}. Check that the first line is the header, or send only the "
            "agreed columns"
        )
    stripped = [h.strip() for h in header]
    repeated = sorted(name for name, count in Counter(stripped).items() if count > 1)
    if repeated:
        raise FileRejected(f"the header repeats column(s) {_shown(repeated)}")
    if any(not h for h in stripped):
        raise FileRejected("the header has an empty column name")
    try:
        columns, ignored = mapping.resolve(header)
    except InvalidInput as exc:  # two headers for one column: the file cannot be read
        raise FileRejected(str(exc)) from None
    if len(header) == 1 and set(columns.values()) == {"vendor_record_id"}:  # a retraction file
        return VendorFile(path, fmt, header, columns, ignored, [], mapping, kind=RETRACTION)
    present = set(columns.values()) | set(mapping.defaults)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        _refuse_other_delimiter(header, mapping, len(missing))
        raise FileRejected(
            f"missing required column(s): {', '.join(missing)}. The header was: "
            f"{_shown(header)}. Rename the columns or add them to the vendor's column mapping."
        )
    absent = [
        c for c in (*REQUIRED_COLUMNS, *sorted(OPTIONAL_COLUMNS)) if c not in columns.values()
    ]
    return VendorFile(path, fmt, header, columns, ignored, absent, mapping)
