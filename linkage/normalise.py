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
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    "address",
)


Factorised = tuple[np.ndarray, np.ndarray]  # (codes, -1 for missing; the value of each code)


@dataclass
class Prepared:
    """Normalised representatives (`frame`) and where every input record went.

    Where records went is kept as two arrays, not a dict: a million-entry dict costs a
    second to build and another to read back, and most runs need no lookup by id.
    """

    frame: pd.DataFrame
    record_ids: np.ndarray  # every input record_id, in record id order
    kept_position: np.ndarray  # per input record: its representative's row in `frame`
    warnings: list[str] = field(default_factory=list)
    # column -> (codes per row of `frame`, -1 for missing; the value of each code): made once
    # here, reused for the blocking keys and the engine's table (a factorisation or a text
    # conversion costs a tenth of a second a million).  The values are distinct, except
    # for the list columns (one list per distinct name)
    codes: dict[str, Factorised] = field(default_factory=dict)

    @cached_property
    def representative(self) -> dict[str, str]:
        """Every input record_id -> its representative's (for lookups by id)."""
        kept = self.frame["record_id"].to_numpy(dtype=object)[self.kept_position]
        return dict(zip(self.record_ids.tolist(), kept.tolist(), strict=True))


@lru_cache(maxsize=200_000)
def clean_name(value: str) -> str | None:
    """Lower case, no accents or punctuation, hyphens and runs of space as one space."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SEPARATORS.sub(" ", _NOT_WORD.sub("", text)).strip()
    return text or None


# names of these characters only clean the same without Unicode work: lower case, drop
# the punctuation, runs of space, hyphen and underscore as one space
_PLAIN_NAME = r"^[A-Za-z0-9 _.,'-]*$"


def _clean_names(values: np.ndarray) -> np.ndarray:
    """`clean_name` of each value (an object array): plain ASCII names by Arrow, in one
    pass, the rest one call each (a million names have over a hundred thousand spellings)."""
    text = pa.array(values, type=pa.string())
    plain = pc.match_substring_regex(text, _PLAIN_NAME).to_numpy(zero_copy_only=False)
    cleaned = pc.replace_substring_regex(pc.ascii_lower(text), r"[.,']", "")
    cleaned = pc.utf8_trim(pc.replace_substring_regex(cleaned, r"[ _-]+", " "), " ")
    cleaned = pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, pa.string()), cleaned)
    result = cleaned.to_numpy(zero_copy_only=False)
    result[~plain] = [clean_name(v) for v in values[~plain]]
    return result


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
    return _spread(_distinct(series), fn)


def _distinct(series: pd.Series) -> Factorised:
    """(codes, distinct values) of `series`, missing as code -1: factorised once, so several
    derived columns of one source column share the cost (a tenth of a second a million)."""
    return pd.factorize(series.astype(object), use_na_sentinel=True)


def _dictionary(text: pd.Series) -> Factorised:
    """`_distinct` of a text column, blank as missing, by Arrow's dictionary encoding: the
    same codes and values as `pd.factorize` (first appearance order), without making a
    Python string per row and hashing it (a second a million for a few columns)."""
    encoded = _encoded(text)
    return _indices(encoded), encoded.dictionary.to_numpy(zero_copy_only=False)


def _encoded(text: pd.Series) -> pa.DictionaryArray:
    values = pa.array(text.array, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):  # one dictionary for the whole column
        values = values.combine_chunks()
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    return values.dictionary_encode()


def _indices(encoded: pa.DictionaryArray) -> np.ndarray:
    return encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)


def _decoded(distinct: Factorised) -> np.ndarray:
    """Per row its value (None for missing), as an object array: each distinct string is
    made once and shared by the rows that hold it."""
    codes, uniques = distinct
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = uniques
    table[-1] = None  # code -1: missing
    return table[codes]


def renumbered(distinct: Factorised) -> Factorised:
    """`distinct` as `pd.factorize` would give it for these rows: codes in order of first
    appearance, only the values present (after rows were reordered or dropped)."""
    codes, uniques = distinct
    present = codes >= 0
    seen = np.maximum.accumulate(codes[present]) if present.any() else codes[:0]
    if not len(seen) and not len(uniques):
        return distinct
    if len(seen) and seen[-1] == len(uniques) - 1 and (np.diff(seen, prepend=-1) <= 1).all():
        return distinct  # numbered in order of first appearance already, every value present
    order = np.full(len(codes), -1, dtype=np.intp)
    sub, first = pd.factorize(codes[present])
    order[present] = sub
    return order, uniques[first]


def _spread(distinct: Factorised, fn: Callable[[Any], Any]) -> pd.Series:
    return pd.Series(_table(distinct, fn)[distinct[0]], dtype=object, copy=False)


def _table(distinct: Factorised, fn: Callable[[Any], Any]) -> np.ndarray:
    """`fn` of each distinct value, and None last (what code -1, missing, picks)."""
    uniques = distinct[1]
    table = np.empty(len(uniques) + 1, dtype=object)
    if fn is clean_name:
        table[:-1] = _clean_names(uniques)
    else:
        for i, value in enumerate(uniques):
            table[i] = fn(value)
    table[-1] = None  # code -1: missing
    return table


def _spread_coded(distinct: Factorised, fn: Callable[[Any], Any]) -> tuple[pd.Series, Factorised]:
    """`_spread`, and the result's codes, from factorising its few distinct values only."""
    table = _table(distinct, fn)
    result_codes, result_uniques = pd.factorize(table[:-1], use_na_sentinel=True)
    codes = np.append(result_codes, -1)[distinct[0]]
    rows = pd.Series(table[distinct[0]], dtype=object, copy=False)  # a new array: no copy
    return rows, (codes, result_uniques)


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


def _addresses(text: pd.Series) -> pd.Series:
    """Lower case, letters, digits and single spaces (nearly one value per row)."""
    words = text.str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()
    return words.mask(words == "")


# Nearly one value per row (ids, codes): vectorised string functions instead.
VECTOR_CLEANERS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "state_student_id": _codes,
    "school_code": _codes,
    "district_code": _codes,
    "state": _codes,
    "postcode": _postcodes,
    "address": _addresses,
}


def _objects(text: pd.Series) -> pd.Series:
    """Text as an object column, None for missing or empty."""
    values = text.to_numpy(dtype=object, na_value=None)
    values[values == ""] = None
    return pd.Series(values, dtype=object)


# cleaned value by value but coded as well: the duplicate check and the blocking keys
# factorise them, and a text column's codes come cheaply from Arrow before the rows
# become Python strings
CODED = ("state_student_id", "state", "district_code", "school_code", "postcode", "address",
         "source", "source_person_id")  # fmt: skip


def _coded(text: pd.Series, clean: Callable[[pd.Series], pd.Series] | None) -> Factorised:
    """`_dictionary(clean(text))`; a column of few distinct values (states, schools) is
    cleaned once per value, not once per row, and its codes mapped back to the rows."""
    if clean is None:
        return _dictionary(text)
    raw = _encoded(text)  # its distinct values stay in Arrow: ids have a million
    if 2 * len(raw.dictionary) > len(text):  # ids: nearly one value per row
        return _dictionary(clean(text))
    raw_values = pd.Series(raw.dictionary.to_numpy(zero_copy_only=False), dtype=text.dtype)
    value_codes, values = _dictionary(clean(raw_values))
    return renumbered((np.append(value_codes, -1)[_indices(raw)], values))


# accepted in inputs, read by no comparison, key or rule: not cleaned, not carried into
# the engine
NOT_LINKED: tuple[str, ...] = ()


def normalise(records: pd.DataFrame, codes: dict[str, Factorised] | None = None) -> pd.DataFrame:
    """The canonical columns linking reads, cleaned, as object columns with None for missing.

    `codes`, when given, receives the codes of the columns cleaned value by value (from
    their few distinct values: no second pass over the rows to factorise them).  Two
    columns are cleaned at a time: Arrow's kernels, most of the work, release the GIL."""
    codes = {} if codes is None else codes
    columns = [c for c in CANONICAL_COLUMNS if c not in NOT_LINKED]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="credx-normalise") as pool:
        cleaned = list(pool.map(lambda column: _normalised(records, column), columns))
    frame = pd.DataFrame(index=range(len(records)))
    for column, (values, column_codes) in zip(columns, cleaned, strict=True):
        frame[column] = values
        if column_codes is not None:
            codes[column] = column_codes
    return frame


def _normalised(records: pd.DataFrame, column: str) -> tuple[pd.Series, Factorised | None]:
    """One canonical column cleaned, and its codes when cleaning made them."""
    if column not in records:
        return pd.Series([None] * len(records), dtype=object), None
    if column in CLEANERS:
        distinct = _dictionary(_text(records[column]))
        return _spread_coded(distinct, CLEANERS[column])
    if column in CODED:  # ids and codes: vectorised (no Python calls per value)
        coded = _coded(_text(records[column]), VECTOR_CLEANERS.get(column))
        return pd.Series(_decoded(coded), dtype=object, copy=False), coded
    text = _text(records[column])
    return _objects(VECTOR_CLEANERS.get(column, lambda t: t)(text)), None


def add_derived(frame: pd.DataFrame, codes: dict[str, Factorised] | None = None) -> None:
    """Columns the comparisons use: name forms, surname parts, date parts.

    With `codes` (the source columns' codes), the blocking columns' codes are added to it.
    """
    codes = {} if codes is None else codes
    first = codes.get("first_name") or _distinct(frame["first_name"])
    forms = _table(first, lambda v: list(name_forms(v)))
    frame["first_name_forms"] = pd.Series(forms[first[0]], dtype=object, copy=False)
    codes["first_name_forms"] = (first[0], forms[:-1])  # per code its list (not distinct)
    frame["first_name_key"], codes["first_name_key"] = _spread_coded(first, name_key)
    frame["first_initial"], codes["first_initial"] = _spread_coded(first, lambda v: v[:1])
    last = codes.get("last_name") or _distinct(frame["last_name"])
    parts = _table(last, lambda v: v.split(" "))
    frame["last_name_parts"] = pd.Series(parts[last[0]], dtype=object, copy=False)
    codes["last_name_parts"] = (last[0], parts[:-1])
    # blocking: hyphens, typos
    frame["last_prefix"], codes["last_prefix"] = _spread_coded(last, lambda v: v[:3])
    dob = codes.get("birth_date") or _distinct(frame["birth_date"])
    _, codes["birth_year"] = _spread_coded(dob, lambda v: int(v[:4]))
    for name, part in (("birth_year", slice(0, 4)), ("birth_month", slice(5, 7)),
                       ("birth_day", slice(8, 10))):  # fmt: skip
        frame[name] = _date_part(dob, part)


def _date_part(dob: Factorised, part: slice) -> pd.arrays.IntegerArray:
    """A part of ISO dates as nullable integers, read once per distinct date."""
    codes, dates = dob
    table = np.array([int(d[part]) for d in dates] + [0], dtype=np.int64)
    return pd.arrays.IntegerArray(table[codes], codes < 0)


def combined_codes(parts: Iterable[tuple[np.ndarray, int]], rows: int) -> np.ndarray:
    """One integer per distinct combination of several columns' codes: each part is
    (codes per row, -1 for missing, which counts as a value; how many distinct values).
    Exact, and cheaper than a groupby on text; the numbers are renumbered only before
    they would overflow, so they are not consecutive (`pd.factorize` them for that)."""
    group = np.zeros(rows, dtype=np.int64)
    bound = 1  # the group numbers stay below it
    for codes, size in parts:
        if bound * (size + 1) >= 2**62:
            group, distinct = pd.factorize(group)
            bound = len(distinct)
        group = group * (size + 1) + (codes + 1)
        bound *= size + 1
    return group


def _row_groups(
    frame: pd.DataFrame, columns: tuple[str, ...], known: dict[str, Factorised]
) -> tuple[np.ndarray, dict[str, Factorised]]:
    """`combined_codes` of `columns` (missing is a value), and those columns' codes (the
    `known` ones reused)."""
    factorised = {
        column: known[column]
        if column in known
        else pd.factorize(frame[column], use_na_sentinel=True)
        for column in columns
    }
    parts = ((codes, len(uniques)) for codes, uniques in factorised.values())
    return combined_codes(parts, len(frame)), factorised


def _collapse(
    frame: pd.DataFrame, known: dict[str, Factorised]
) -> tuple[pd.DataFrame, np.ndarray, dict[str, Factorised]]:
    """Keep one record per identical (and identifiable) record; map the rest to it.

    `frame` is sorted by record id, so the representative is the smallest id.  Returns
    the kept rows, per row of `frame` its representative's row among them, and the
    compared columns' codes for the kept rows (a dropped row's values are its
    representative's, so the distinct values stay those of the kept rows).
    """
    group, factorised = _row_groups(frame, COMPARED, known)
    identifiable = np.logical_and.reduce(
        [factorised[c][0] >= 0 for c in ("first_name", "last_name", "birth_date")]
    )
    group = np.where(identifiable, group, -1 - np.arange(len(frame)))
    _, first_row, inverse = np.unique(group, return_index=True, return_inverse=True)
    first = first_row[inverse]  # per row: the row of its representative
    is_kept = first == np.arange(len(frame))
    kept_position = (np.cumsum(is_kept) - 1)[first]
    kept = frame[is_kept].reset_index(drop=True)
    codes = {
        c: (column_codes[is_kept], uniques) for c, (column_codes, uniques) in factorised.items()
    }
    # the other coded columns (blocking only): as factorising the kept rows would code them
    for c in known.keys() - factorised.keys():
        codes[c] = renumbered((known[c][0][is_kept], known[c][1]))
    return kept, kept_position, codes


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
    known: dict[str, Factorised] = {}
    frame = normalise(records, known)
    missing = frame["record_id"].isna()
    frame.loc[missing, "record_id"] = [f"row:{i}" for i in frame.index[missing]]
    warnings: list[str] = []
    # by id: the representative of copies (and everything after) must not depend on input order
    if not frame["record_id"].is_monotonic_increasing:  # ids are unique: one order fits
        order = frame["record_id"].argsort(kind="stable").to_numpy()
        frame = frame.take(order).reset_index(drop=True)
        known = {c: (values[order], uniques) for c, (values, uniques) in known.items()}
    ids = frame["record_id"].to_numpy(dtype=object)
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():  # in order: a repeat is a neighbour
        raise ValueError("record_id must be unique within one linkage run")
    # the id-like columns numbered as factorising the ordered rows numbers them (the
    # blocking keys are built from these numbers)
    known.update({c: renumbered(known[c]) for c in CODED if c in known and c in COMPARED})
    kept, kept_position, codes = _collapse(frame, known)
    if len(kept) < len(frame):
        warnings.append(
            f"{len(frame) - len(kept):,} records are exact copies of another record "
            "and were linked to it without scoring"
        )
    add_derived(kept, codes)
    return Prepared(
        frame=kept,
        record_ids=ids,
        kept_position=kept_position,
        warnings=warnings,
        codes=codes,
    )
