"""The vendor exam-result file: canonical columns and the Pandera schema that checks them.

Files are read as text (every column a string, empty cells null) so that a
rejected value is reported exactly as the vendor sent it; `typed_columns`
converts the rows that passed.  Validation is lazy: every problem of every
row is reported at once, one reason per cell.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date

import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_
import pyarrow.compute as pc

from kernel.values import (
    DISTRICT_CODE_PATTERN,
    DISTRICT_CODE_REASON,
    STATE_CODE_REASON,
    USPS_STATES,
)
from schemas import values
from schemas.columns import (  # noqa: F401  (the schema's columns, named here too)
    CANONICAL_COLUMNS,
    DATE_COLUMNS,
    NUMERIC_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from schemas.credentials import CODE_PATTERN

MISSING_VALUE = "required value is missing"
NOT_A_DATE = "not a date: use YYYY-MM-DD (or MM/DD/YYYY)"
ISO_SHAPE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
US_SHAPE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
FORMULA = "starts with a spreadsheet formula character (= + - @); send the plain value"
EARLIEST_BIRTH = date(1900, 1, 1)
EARLIEST_EXAM = date(2000, 1, 1)


def _check(fn, error: str) -> pa.Check:
    """A vectorised check named by its reason.

    Every check in `values` passes nulls itself (nullability is the column's own
    check), so Pandera is told not to drop them first (`ignore_na=False`): that
    would copy each column holding a null before every check, for the same result.
    """
    return pa.Check(fn, error=error, name=error, ignore_na=False)


def _text(
    limit: int, pattern: str | None = None, shape: str = "", *, repeats: bool = False
) -> list[pa.Check]:
    """`repeats`: few distinct values (names, codes), each matched once (`values.matches`)."""
    checks = []
    if pattern:
        checks.append(_check(lambda s: values.matches(s, pattern, repeats=repeats), shape))
    checks.append(_check(lambda s: values.max_length(s, limit), f"longer than {limit} characters"))
    return checks


def _identifier(limit: int, *, repeats: bool = False) -> list[pa.Check]:
    return _text(
        limit, r"[A-Za-z0-9][A-Za-z0-9._/\-]*", "must be letters, digits, '.', '_', '/' or '-'",
        repeats=repeats,
    )  # fmt: skip


def _name() -> list[pa.Check]:
    return _text(
        100, values.NAME, "must be a name: letters, spaces, apostrophes, hyphens, periods",
        repeats=True,
    )  # fmt: skip


def _date(earliest: date, latest: date, what: str) -> list[pa.Check]:
    return [
        _check(values.is_date, NOT_A_DATE),
        _check(
            lambda s: values.is_date_between(s, earliest, latest),
            f"{what} must be between {earliest.isoformat()} and {latest.isoformat()}",
        ),
    ]


def explain(column: str, value: object, reason: str) -> str:
    """The reason a vendor is shown for a refused value.

    Every column's rule already refuses values starting with = + - @ tab or
    CR (none of the patterns allows them), so rather than checking each
    column twice, a refused value that looks like a spreadsheet formula is
    named as one: that is the problem the vendor must fix.  Numbers keep
    their own reason ("-5" is a negative score, not an attack).
    """
    if column in DATE_COLUMNS and reason == NOT_A_DATE and isinstance(value, str):
        return _no_such_day(value) or reason
    if column in NUMERIC_COLUMNS or not values.looks_like_formula(value):
        return reason
    return FORMULA


def _no_such_day(value: str) -> str | None:
    """A date written in an accepted form whose day does not exist (2025-02-30): saying
    "use YYYY-MM-DD" would repeat the form the vendor already used."""
    iso, us = ISO_SHAPE.fullmatch(value.strip()), US_SHAPE.fullmatch(value.strip())
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif us:
        month, day, year = (int(part) for part in us.groups())
    else:
        return None
    if not 1 <= month <= 12:
        return f"no month {month}: the form is right but the month must be 01 to 12"
    last = calendar.monthrange(max(year, 1), month)[1]
    if 1 <= day <= last:
        return None
    return (
        f"no such day: {calendar.month_name[month]} {year} has {last} days; "
        "correct the day (the form is right)"
    )


def exam_result_schema(known_codes: frozenset[str], today: date) -> pa.DataFrameSchema:
    """The schema for one file's rows, given the registry and the date of receipt."""

    def column(checks: list[pa.Check], name: str) -> pa.Column:
        return pa.Column(checks=checks, nullable=name in OPTIONAL_COLUMNS, required=True)

    credential_checks = [
        _check(
            lambda s: values.matches(s, CODE_PATTERN, repeats=True),
            "not a credential code: five capital letters and three digits, e.g. ADESK002",
        ),
        _check(
            lambda s: values.in_set(s, known_codes),
            "unknown credential code: not in the credential registry (ask the state to add it)",
        ),
    ]
    columns = {
        "vendor_record_id": _identifier(64),
        "candidate_id": _identifier(64),
        "state_student_id": _text(32, r"[A-Za-z0-9\-]+", "must be letters, digits or '-'"),
        "first_name": _name(),
        "middle_name": _name(),
        "last_name": _name(),
        "birth_date": _date(EARLIEST_BIRTH, today, "birth date"),
        "state": [
            _check(lambda s: values.in_set(s, USPS_STATES, casefold=True), STATE_CODE_REASON),
        ],
        "district_code": _text(16, DISTRICT_CODE_PATTERN, DISTRICT_CODE_REASON, repeats=True),
        "school_code": _text(16, r"[A-Za-z0-9\-]+", "must be letters, digits or '-'", repeats=True),
        "credential_code": credential_checks,
        "exam_code": _identifier(32, repeats=True),
        "exam_date": _date(EARLIEST_EXAM, today, "exam date"),
        "score": [_check(values.is_number, "must be a number of at least 0, e.g. 712 or 85.5")],
        "passing_score": [
            _check(values.is_number, "must be a number of at least 0, e.g. 700 or 70")
        ],
        "result": [
            _check(lambda s: values.in_set(s, frozenset({"PASS", "FAIL"}), casefold=True),
                   "must be pass or fail"),
        ],
        "attempt": [_check(lambda s: values.matches(s, r"[1-9][0-9]{0,2}", repeats=True),
                           "must be a whole number from 1 to 999")],
    }  # fmt: skip
    return pa.DataFrameSchema(
        {name: column(checks, name) for name, checks in columns.items()},
        strict=False,
        coerce=False,
    )


def typed_arrays(frame: pd.DataFrame | Mapping[str, pyarrow_.Array]) -> dict[str, pyarrow_.Array]:
    """Database-ready values per column for rows that passed the schema (dates as ISO text),
    as Arrow arrays: a checking process hands them on without making Python objects."""
    out: dict[str, pyarrow_.Array] = {}
    for name in CANONICAL_COLUMNS:
        series = frame[name]
        if name in DATE_COLUMNS:
            out[name] = values.iso_date_array(series)
        elif name in ("score", "passing_score"):
            out[name] = values.parse_numbers(series)
        elif name == "attempt":
            out[name] = pc.cast(values.as_arrow(series), pyarrow_.int32())
        elif name == "state":
            out[name] = pc.utf8_upper(values.as_arrow(series))
        elif name == "result":
            out[name] = pc.utf8_lower(values.as_arrow(series))
        else:
            out[name] = values.as_arrow(series)
    return out


def typed_columns(frame: pd.DataFrame) -> dict[str, list]:
    """`typed_arrays` as Python lists."""
    return {name: array.to_pylist() for name, array in typed_arrays(frame).items()}
