"""The one CSV writer for every CSV file credx writes: cells a spreadsheet would run are
neutralised.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (`=HYPERLINK(...)` phones home, `@SUM(1)` runs); it is
written with a leading apostrophe, which spreadsheets show as text and never run (OWASP's
CSV-injection advice).  Numbers, booleans and dates are written as they are; None is an
empty cell.  Reports, rejections, releases, audit results and linker output all go through
`writer` or `write_frame`, so a new export cannot forget.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the web app imports this without pandas
    import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    """A value a spreadsheet would run as a formula when the file is opened."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def neutralise(value: object) -> Any:
    """The cell as written: formula text prefixed with `'`, None empty, the rest unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every row is neutralised first."""

    def __init__(self, stream: IO[str], **options: Any):
        self._writer = csv.writer(stream, lineterminator="\n", **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: IO[str], **options: Any) -> SafeWriter:
    """A CSV writer (LF line ends) that neutralises formulas; options go to `csv.writer`."""
    return SafeWriter(stream, **options)


def write_frame(frame: pd.DataFrame, target: Any) -> str | None:
    """`frame.to_csv` (no index, LF) with every text cell neutralised; `target` a path or
    stream, or None for the text."""
    safe = frame.copy()
    for name in safe.columns:
        if safe[name].dtype == object or str(safe[name].dtype) in ("string", "str"):
            safe[name] = safe[name].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    safe.columns = [neutralise(str(name)) for name in safe.columns]
    text: str | None = safe.to_csv(target, index=False, lineterminator="\n")
    return text
