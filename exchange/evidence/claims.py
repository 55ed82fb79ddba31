"""The claim a district makes with each upload, checked field by field.

`parse_claim` takes the form (or manifest line) as sent, strings in, and
returns a `Claim` of clean values or raises `EvidenceRefused` naming the
first field at fault.  Messages describe the rule, never echo the value: they
end up in the event log, and birth dates and names must not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date

from sqlmodel import Session

from exchange.evidence.refusals import EvidenceRefused
from kernel.clock import today
from kernel.values import SCHOOL_YEAR_REASON, school_year_start
from schemas.credentials import Credential
from schemas.values import looks_like_formula, parse_date

FIELDS = (
    "state_student_id",
    "student_name",
    "birth_date",
    "school_code",
    "school_year",
    "graduation_pathway",
    "credential_code",
    "date_earned",
)
CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
PATHWAY = re.compile(r"[\w][\w .,'’&/()+-]*")
NAME_PUNCTUATION = frozenset("'’. -")
EARLIEST_BIRTH = date(1900, 1, 1)
EARLIEST_EARNED = date(2000, 1, 1)
YOUNGEST_EARNER_YEARS = 10


@dataclass(frozen=True)
class Claim:
    state_student_id: str
    student_name: str
    birth_date: date
    school_code: str
    school_year: str
    graduation_pathway: str
    credential_code: str
    date_earned: date

    def as_dict(self) -> dict:
        return asdict(self)


def _refuse(field: str, message: str, code: str = "invalid_claim") -> EvidenceRefused:
    return EvidenceRefused(message, code=code, field=field)


def _text(raw: Mapping[str, object], field: str, limit: int) -> str:
    value = raw.get(field)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _refuse(field, f"{field} is required", code="missing_field")
    if len(text) > limit:
        raise _refuse(field, f"{field} is longer than {limit} characters")
    if looks_like_formula(text):
        raise _refuse(field, f"{field} must not start with =, +, -, @ (spreadsheet formula)")
    if any(unicodedata.category(c) == "Cc" and not c.isspace() for c in text):
        # PostgreSQL text cannot hold NUL at all: refuse here rather than fail in the database
        raise _refuse(field, f"{field} must not contain control characters (such as NUL)")
    return text


def _code(raw: Mapping[str, object], field: str, limit: int, what: str) -> str:
    text = _text(raw, field, limit)
    if not CODE_LIKE.fullmatch(text):
        raise _refuse(field, f"{field} must be the {what}: letters, digits and '-' only")
    return text


def _name(raw: Mapping[str, object]) -> str:
    text = " ".join(_text(raw, "student_name", 200).split())
    is_letter = [unicodedata.category(c)[0] in "LM" for c in text]
    allowed = (ok or c in NAME_PUNCTUATION for ok, c in zip(is_letter, text, strict=True))
    if not is_letter[0] or not all(allowed):
        raise _refuse(
            "student_name",
            "student_name may hold letters of any script, spaces, apostrophes, hyphens and "
            "periods, and must start with a letter",
        )
    return text


def _date(raw: Mapping[str, object], field: str, earliest: date, latest: date) -> date:
    parsed = parse_date(_text(raw, field, 10))
    if parsed is None:
        raise _refuse(field, f"{field} must be a date as YYYY-MM-DD (or MM/DD/YYYY)")
    if parsed > latest:
        raise _refuse(field, f"{field} is in the future")
    if parsed < earliest:
        raise _refuse(field, f"{field} is before {earliest.isoformat()}")
    return parsed


def _school_year(raw: Mapping[str, object], now: date) -> str:
    text = _text(raw, "school_year", 7)
    start = school_year_start(text)
    if start is None:
        raise _refuse("school_year", f"school_year is {SCHOOL_YEAR_REASON}")
    if not 2000 <= start <= now.year:
        raise _refuse("school_year", f"school_year must start between 2000 and {now.year}")
    return text


def _pathway(raw: Mapping[str, object]) -> str:
    text = " ".join(_text(raw, "graduation_pathway", 100).split())
    if not PATHWAY.fullmatch(text):
        raise _refuse(
            "graduation_pathway",
            "graduation_pathway may hold letters, digits, spaces and . , ' & / ( ) + -",
        )
    return text


def _credential(session: Session, raw: Mapping[str, object]) -> str:
    code = _text(raw, "credential_code", 8).upper()
    if session.get(Credential, code) is None:
        raise _refuse(
            "credential_code",
            "credential_code is not in the credential registry; "
            "check the code on the state's credential list",
            code="unknown_credential",
        )
    return code


def parse_claim(session: Session, raw: Mapping[str, object], *, now: date | None = None) -> Claim:
    """The claim's fields cleaned and checked, in form order; the first problem is raised."""
    now = now or today()
    state_student_id = _code(raw, "state_student_id", 32, "state student id")
    student_name = _name(raw)
    birth_date = _date(raw, "birth_date", EARLIEST_BIRTH, now)
    school_code = _code(raw, "school_code", 16, "school's code")
    school_year = _school_year(raw, now)
    pathway = _pathway(raw)
    credential = _credential(session, raw)
    earned = _date(raw, "date_earned", EARLIEST_EARNED, now)
    if earned < _add_years(birth_date, YOUNGEST_EARNER_YEARS):
        raise _refuse(
            "date_earned",
            f"date_earned is less than {YOUNGEST_EARNER_YEARS} years after birth_date: "
            "check both dates",
        )
    return Claim(
        state_student_id, student_name, birth_date, school_code, school_year, pathway,
        credential, earned,
    )  # fmt: skip


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
