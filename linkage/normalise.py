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
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pandas as pd

from linkage.columns import CANONICAL_COLUMNS
from linkage.nicknames import name_forms, name_key

_NOT_WORD = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[\s_-]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
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
    text = value.strip()[:10] if "-" in value[:10] else value.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = pd.to_datetime(text, format=fmt).date()
        except (ValueError, TypeError, OverflowError):
            continue
        if date(1900, 1, 1) <= parsed <= date.today():
            return parsed.isoformat()
        return None
    return None


def clean_code(value: str) -> str | None:
    text = _NOT_ALNUM.sub("", value).upper()
    return text or None


def _text(series: pd.Series) -> pd.Series:
    """Strings with missing values as None, whatever the input dtype."""

    def one(value: object) -> str | None:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp | date):
            return value.strftime("%Y-%m-%d")
        text = str(value).strip()
        return text or None

    return pd.Series([one(v) for v in series], dtype=object)


def _apply(series: pd.Series, fn) -> pd.Series:
    """`fn` on every present value (object dtype: pandas must not turn None into NaN)."""
    return pd.Series([None if v is None else fn(v) for v in _text(series)], dtype=object)


def _each(series: pd.Series, fn) -> pd.Series:
    return pd.Series([fn(v) if v is not None else None for v in series], dtype=object)


def normalise(records: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns, cleaned; record_id as text."""
    frame = pd.DataFrame(index=range(len(records)))
    for column in CANONICAL_COLUMNS:
        present = column in records
        frame[column] = (
            _text(records[column]) if present else pd.Series([None] * len(records), dtype=object)
        )
    for column in ("first_name", "middle_name", "last_name", "address"):
        frame[column] = _apply(frame[column], clean_name)
    frame["birth_date"] = _apply(frame["birth_date"], clean_date)
    for column in ("state_student_id", "school_code", "district_code", "state"):
        frame[column] = _apply(frame[column], clean_code)
    frame["gender"] = _apply(frame["gender"], lambda v: v[:1].upper() if v[:1].isalpha() else None)
    frame["postcode"] = _apply(frame["postcode"], lambda v: re.sub(r"\D", "", v)[:5] or None)
    return frame


def add_derived(frame: pd.DataFrame) -> None:
    """Columns the comparisons use: name forms, surname parts, date parts."""
    first = frame["first_name"]
    frame["first_name_forms"] = _each(first, lambda v: list(name_forms(v)))
    frame["first_name_key"] = _each(first, name_key)
    frame["first_initial"] = _each(first, lambda v: v[:1])
    frame["last_name_parts"] = _each(frame["last_name"], lambda v: v.split(" "))
    dob = frame["birth_date"]
    for name, part in (("birth_year", slice(0, 4)), ("birth_month", slice(5, 7))):
        frame[name] = _each(dob, lambda v, p=part: int(v[p])).astype("Int64")
    frame["birth_day"] = _each(dob, lambda v: int(v[8:10])).astype("Int64")


def _collapse(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Keep one record per identical (and identifiable) record; map the rest to it."""
    identifiable = frame[["first_name", "last_name", "birth_date"]].notna().all(axis=1)
    rows = zip(*(frame[c] for c in COMPARED), strict=True)
    key = pd.Series(["\x1f".join(map(str, row)) for row in rows], dtype=object)
    key = key.where(identifiable, "\x00" + frame["record_id"].astype(object))
    first_id = frame.groupby(key, sort=False)["record_id"].transform("first")
    representative = dict(zip(frame["record_id"], first_id, strict=True))
    kept = frame[frame["record_id"] == first_id].reset_index(drop=True)
    return kept, representative


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
    frame = frame.sort_values("record_id", kind="stable").reset_index(drop=True)
    kept, representative = _collapse(frame)
    if len(kept) < len(frame):
        warnings.append(
            f"{len(frame) - len(kept):,} records are exact copies of another record "
            "and were linked to it without scoring"
        )
    add_derived(kept)
    return Prepared(frame=kept, representative=representative, warnings=warnings)
