"""Canonical records made comparable: case, accents, punctuation, dates, ids.

Every value is tolerated: an unparseable date or an empty name becomes NULL
(the comparison then counts neither for nor against), never an error.
Non-Latin scripts pass through (only combining accents are removed).
Exact duplicates (same names, birth date and every compared field) are
linked to one representative before scoring: it keeps a degenerate input
(100,000 copies of one record) from turning into billions of pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from linkage.columns import CANONICAL_COLUMNS
from linkage.nicknames import name_forms, name_key

_NOT_WORD = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[\s_-]+")
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m-%d-%Y", "%Y/%m/%d")
COMPARED = (
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "gender",
    "state_student_id",
    "state",
    "district_code",
    "school_code",
    "postcode",
)


@dataclass
class Prepared:
    """Normalised representatives (`frame`) and where every input record went."""

    frame: pd.DataFrame
    representative: dict[str, str]  # every input record_id -> its representative's
    warnings: list[str] = field(default_factory=list)


@lru_cache(maxsize=200_000)
def clean_name(value: str) -> str | None:
    """Lower case, no accents or punctuation, hyphens and runs of space as one space."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SEPARATORS.sub(" ", _NOT_WORD.sub("", text)).strip()
    return text or None


@lru_cache(maxsize=100_000)
def clean_date(value: str) -> str | None:
    """ISO date, or None when the value is not a real date between 1900 and today."""
    text = value[:10] if value[4:5] == "-" else value
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return parsed.isoformat() if date(1900, 1, 1) <= parsed <= date.today() else None
    return None


def _one(value: object) -> str | None:
    """One raw value as stripped text, or None when missing, whatever its type."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp | date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    return text or None


def _by_value(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`fn` once per distinct present value, spread back to every row (object dtype, None
    for missing): a million rows of a few thousand names cost a few thousand calls."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        table[i] = fn(value)
    table[-1] = None  # code -1: missing
    return pd.Series(table[codes], dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Stripped text, missing (or blank) as NA; vectorised (Arrow strings)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d")
    elif series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in (
        "string",
        "empty",
    ):  # dates, numbers and text mixed: one value at a time (plain text skips this)
        series = _by_value(series, _one)
    text = series.reset_index(drop=True).astype("string").str.strip()
    return text.mask(text == "")


def _apply(series: pd.Series, fn) -> pd.Series:
    """`fn` once per distinct present value, as text; object dtype with None."""
    return _by_value(_text(series), fn)


def _each(series: pd.Series, fn) -> pd.Series:
    return _by_value(series, fn)


# Few distinct values (names, dates): a Python function once per distinct value.
CLEANERS: dict[str, Callable[[str], Any]] = {
    "first_name": clean_name,
    "middle_name": clean_name,
    "last_name": clean_name,
    "birth_date": clean_date,
    "gender": lambda v: v[:1].upper() if v[:1].isalpha() else None,
}


def _codes(text: pd.Series) -> pd.Series:
    """Upper case letters and digits only (ids have about as many values as rows)."""
    return text.str.replace(r"[^0-9A-Za-z]", "", regex=True).str.upper()


def _postcodes(text: pd.Series) -> pd.Series:
    return text.str.replace(r"[^0-9]", "", regex=True).str.slice(0, 5)


# Nearly one value per row (ids, codes): vectorised string functions instead.
VECTOR_CLEANERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "state_student_id": _codes,
    "school_code": _codes,
    "district_code": _codes,
    "state": _codes,
    "postcode": _postcodes,
}


def _objects(text: pd.Series) -> pd.Series:
    """Text as an object column, None for missing or empty."""
    values = text.to_numpy(dtype=object, na_value=None)
    values[values == ""] = None
    return pd.Series(values, dtype=object)


def normalise(records: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns, cleaned, as object columns with None for missing."""
    frame = pd.DataFrame(index=range(len(records)))
    for column in CANONICAL_COLUMNS:
        if column not in records:
            frame[column] = pd.Series([None] * len(records), dtype=object)
        elif column in CLEANERS:
            frame[column] = _by_value(_text(records[column]), CLEANERS[column])
        else:  # ids and codes: vectorised (a million distinct ids cost no Python calls)
            text = _text(records[column])
            frame[column] = _objects(VECTOR_CLEANERS.get(column, lambda t: t)(text))
    return frame


def add_derived(frame: pd.DataFrame) -> None:
    """Columns the comparisons use: name forms, surname parts, date parts."""
    first = frame["first_name"]
    frame["first_name_forms"] = _each(first, lambda v: list(name_forms(v)))
    frame["first_name_key"] = _each(first, name_key)
    frame["first_initial"] = _each(first, lambda v: v[:1])
    frame["last_name_parts"] = _each(frame["last_name"], lambda v: v.split(" "))
    frame["last_prefix"] = _each(frame["last_name"], lambda v: v[:3])  # blocking: hyphens, typos
    dob = frame["birth_date"]
    for name, part in (("birth_year", slice(0, 4)), ("birth_month", slice(5, 7))):
        frame[name] = _each(dob, lambda v, p=part: int(v[p])).astype("Int64")
    frame["birth_day"] = _each(dob, lambda v: int(v[8:10])).astype("Int64")


def _row_groups(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """One integer per distinct combination of `columns` (missing is a value): exact,
    from per-column codes combined pairwise (cheaper than a groupby on text columns)."""
    group = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        group, _ = pd.factorize(group * (len(uniques) + 1) + (codes + 1))
    return group


def _collapse(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Keep one record per identical (and identifiable) record; map the rest to it.

    `frame` is sorted by record id, so the representative is the smallest id.
    """
    identifiable = frame[["first_name", "last_name", "birth_date"]].notna().all(axis=1).to_numpy()
    group = _row_groups(frame, COMPARED)
    group = np.where(identifiable, group, -1 - np.arange(len(frame)))
    _, first_row, inverse = np.unique(group, return_index=True, return_inverse=True)
    ids = frame["record_id"].to_numpy(dtype=object)
    first_id = ids[first_row[inverse]]
    representative = dict(zip(ids, first_id, strict=True))
    kept = frame[ids == first_id].reset_index(drop=True)
    return kept, representative


def by_record_id(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` in record id order; as it is when already so (sorting a million ids costs
    a second, checking the order a fraction of one)."""
    if frame["record_id"].is_monotonic_increasing:
        return frame
    return frame.sort_values("record_id", kind="stable")


def prepare_records(records: pd.DataFrame) -> Prepared:
    """Clean, de-duplicate exact copies, add comparison columns."""
    if "record_id" not in records:
        records = records.assign(record_id=range(len(records)))
    frame = normalise(records)
    missing = frame["record_id"].isna()
    frame.loc[missing, "record_id"] = [f"row:{i}" for i in frame.index[missing]]
    warnings: list[str] = []
    if frame["record_id"].duplicated().any():
        raise ValueError("record_id must be unique within one linkage run")
    # by id: the representative of copies (and everything after) must not depend on input order
    frame = by_record_id(frame).reset_index(drop=True)
    kept, representative = _collapse(frame)
    if len(kept) < len(frame):
        warnings.append(
            f"{len(frame) - len(kept):,} records are exact copies of another record "
            "and were linked to it without scoring"
        )
    add_derived(kept)
    return Prepared(frame=kept, representative=representative, warnings=warnings)
