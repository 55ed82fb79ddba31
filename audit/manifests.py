"""Population manifests: the frozen list of what a draw is made from.

A manifest is published (its SHA-256 with it) before the seed is chosen, so
nobody can pick a seed after seeing the population.  Canonical form, so two
parties writing the same population get the same bytes and the same digest:

* UTF-8 without a byte-order mark, LF line endings, a final LF;
* the header line `id,stratum`, then one line per item;
* rows sorted by stratum, then id, comparing Unicode code points (the same
  order as comparing the UTF-8 bytes);
* a field is quoted only when it must be (it holds a comma, a double quote,
  CR or LF; quotes inside are doubled), as RFC 4180 says.

Reading accepts any row order, CRLF line endings and a leading byte-order
mark (spreadsheets add one), and refuses anything ambiguous with the line to
fix: the draw itself never depends on how the file was laid out, only on the
ids and strata.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from audit.sampling.tickets import Item
from kernel.csvfile import looks_like_formula
from kernel.errors import InvalidInput

HEADER = ("id", "stratum")
BOM = "\ufeff"


@dataclass(frozen=True)
class Manifest:
    items: tuple[Item, ...]
    sha256: str  # of the bytes as read (what was published)

    @property
    def canonical_sha256(self) -> str:
        return hashlib.sha256(canonical_bytes(self.items)).hexdigest()


def canonical_bytes(items: Iterable[Item]) -> bytes:
    """The canonical manifest text for `items` (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for item in sorted(items, key=lambda i: (i.stratum, i.id)):
        writer.writerow((item.id, item.stratum))
    return buffer.getvalue().encode("utf-8")


def write_manifest(items: Iterable[Item], path: Path) -> str:
    """Write the canonical manifest; returns its sha256 (refuses an invalid population)."""
    data = canonical_bytes(items)
    parse_manifest(data)  # the same checks a reader will make
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_manifest(path: Path) -> Manifest:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"manifest {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"manifest {path} is a directory, not a CSV file") from None
    return parse_manifest(data)


def parse_manifest(data: bytes) -> Manifest:
    """Validate a manifest step by step; each step names the line to fix."""
    text = _decode(data)
    rows = _rows(text)
    _check_header(rows)
    items = _items(rows[1:])
    return Manifest(tuple(items), hashlib.sha256(data).hexdigest())


def _decode(data: bytes) -> str:
    if not data.strip():
        raise InvalidInput("the manifest is empty: it needs the header `id,stratum` and items")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(f"manifest line {line}: not UTF-8 text; save it as UTF-8") from None
    return text.removeprefix(BOM)


def _rows(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InvalidInput(f"manifest line {reader.line_num}: {exc}") from None
    return rows


def _check_header(rows: list[tuple[int, list[str]]]) -> None:
    header = tuple(rows[0][1]) if rows else ()
    if header != HEADER:
        raise InvalidInput(
            f"manifest line 1: the header must be exactly `id,stratum` (found {','.join(header)!r})"
        )
    if len(rows) == 1:
        raise InvalidInput("the manifest lists no items: the population is empty")


def _items(rows: list[tuple[int, list[str]]]) -> list[Item]:
    seen: dict[str, int] = {}
    items = []
    for line, row in rows:
        item = _item(line, row)
        if item.id in seen:
            raise InvalidInput(f"manifest line {line}: id {item.id!r} repeats line {seen[item.id]}")
        seen[item.id] = line
        items.append(item)
    return items


def _item(line: int, row: list[str]) -> Item:
    if not row:
        raise InvalidInput(f"manifest line {line} is blank; remove it")
    if len(row) != 2:
        raise InvalidInput(
            f"manifest line {line} has {len(row)} fields; each line must be `id,stratum`"
        )
    item_id, stratum = row
    for name, value in (("id", item_id), ("stratum", stratum)):
        if not value:
            raise InvalidInput(f"manifest line {line}: the {name} is empty")
        if looks_like_formula(value):
            raise InvalidInput(
                f"manifest line {line}: the {name} starts with = + - @ (a spreadsheet formula)"
            )
        if value != value.strip():
            raise InvalidInput(
                f"manifest line {line}: the {name} {value!r} has leading or trailing spaces"
            )
    return Item(item_id, stratum)
