"""Vectorised value checks shared by the schemas.

Patterns are RE2 syntax run through pyarrow, so `\\p{L}` means any letter in
any script and a million rows take milliseconds.  Dates are parsed per
distinct value (files hold few distinct dates), exactly, with no rollover:
2025-02-30 is an error, not March 2nd; names, codes and scores are matched per
distinct value too (`on_distinct`).  Every check lets nulls pass: whether a
value may be missing is the column's own rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kernel.csvfile import FORMULA_TRIGGERS, looks_like_formula  # noqa: F401 (re-exported)

if TYPE_CHECKING:  # imported where used: the web app needs only the scalar checks
    import pandas as pd
    import pyarrow as pa

ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
NAME = r"[\p{L}\p{M}](?:[\p{L}\p{M}'’. \-]*[\p{L}\p{M}.])?"


def as_arrow(series: pd.Series | pa.Array) -> pa.Array:
    """A column's text values as one Arrow array (an Arrow array is taken as it is)."""
    import pyarrow as pa

    if isinstance(series, pa.Array):
        return series
    array = pa.array(series, type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _as_series(result: pa.Array, index: pd.Index) -> pd.Series:
    import pandas as pd

    return pd.Series(result.fill_null(True).to_numpy(zero_copy_only=False), index=index, dtype=bool)


def on_distinct(series: pd.Series, test: Callable[[pa.Array], pa.Array]) -> pd.Series:
    """`test` (vectorised, Arrow in, booleans out) run once per distinct value and spread
    back over the rows; nulls pass.

    Names, codes and scores repeat thousands of times in a file, so matching a
    Unicode pattern against each distinct value costs a fraction of matching
    every row; the result per row is the same.
    """
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(as_arrow(series))
    return _as_series(test(encoded.dictionary).take(encoded.indices), series.index)


def matches(series: pd.Series, pattern: str, *, repeats: bool = False) -> pd.Series:
    """True where the whole value matches `pattern` (nulls pass: nullability is its own check).

    `repeats`: the column holds few distinct values (names, codes), so each is
    matched once (`on_distinct`); identifiers are matched row by row.
    """
    import pyarrow.compute as pc

    def test(array: pa.Array) -> pa.Array:
        return pc.match_substring_regex(array, f"^(?:{pattern})$")

    if repeats:
        return on_distinct(series, test)
    return _as_series(test(as_arrow(series)), series.index)


def max_length(series: pd.Series, limit: int) -> pd.Series:
    import pyarrow.compute as pc

    return _as_series(pc.less_equal(pc.utf8_length(as_arrow(series)), limit), series.index)


@lru_cache(maxsize=1 << 16)
def parse_date(text: str) -> date | None:
    """ISO `YYYY-MM-DD` or US `MM/DD/YYYY`; anything else (or an impossible day) is None."""
    if match := ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := US_DATE.fullmatch(text):
        month, day, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def per_distinct_value(series: pd.Series, fn: Callable[[str], Any], kind: pa.DataType) -> pa.Array:
    """`fn` applied once per distinct value (files repeat dates and codes), spread back by index."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(as_arrow(series))
    mapped = pa.array([fn(value) for value in encoded.dictionary.to_pylist()], type=kind)
    return mapped.take(encoded.indices)


def _passes(series: pd.Series, test: Callable[[str], bool]) -> pd.Series:
    import pyarrow as pa

    return _as_series(per_distinct_value(series, test, pa.bool_()), series.index)


def iso_dates(series: pd.Series) -> list[str | None]:
    """Dates as ISO text (the form both databases load fastest); None where not a date."""
    return iso_date_array(series).to_pylist()


def iso_date_array(series: pd.Series) -> pa.Array:
    """`iso_dates` as an Arrow array."""
    import pyarrow as pa

    def iso(value: str) -> str | None:
        parsed = parse_date(value)
        return parsed.isoformat() if parsed else None

    return per_distinct_value(series, iso, pa.string())


def is_date_between(series: pd.Series, earliest: date, latest: date) -> pd.Series:
    def within(value: str) -> bool:
        parsed = parse_date(value)
        return parsed is not None and earliest <= parsed <= latest

    return _passes(series, within)


def is_date(series: pd.Series) -> pd.Series:
    return _passes(series, lambda v: parse_date(v) is not None)


def parse_numbers(series: pd.Series) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return (
        pc.cast(as_arrow(series), pa.float64(), safe=False)
        if len(series)
        else pa.array([], pa.float64())
    )


def is_number(series: pd.Series, minimum: float = 0) -> pd.Series:
    """A plain decimal (no sign, no exponent) of at least `minimum`; checked once per
    distinct value, as scores repeat."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def test(array: pa.Array) -> pa.Array:
        shaped = pc.match_substring_regex(array, r"^(?:[0-9]{1,9}(?:\.[0-9]{1,4})?)$")
        number = pc.cast(pc.if_else(shaped, array, pa.scalar(None, pa.string())), pa.float64())
        return pc.if_else(shaped, pc.greater_equal(number, minimum), False)

    return on_distinct(series, test)


def as_list(series: pd.Series) -> list:
    """Python values with None for missing, straight from Arrow."""
    return as_arrow(series).to_pylist()


def in_set(series: pd.Series, allowed: frozenset[str], *, casefold: bool = False) -> pd.Series:
    """True where the value (upper-cased first if `casefold`) is in `allowed`; nulls pass."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = as_arrow(series)
    candidates = pc.utf8_upper(array) if casefold else array
    found = pc.is_in(candidates, value_set=pa.array(sorted(allowed), pa.string()))
    return _as_series(pc.or_(found, pc.is_null(array)), series.index)
