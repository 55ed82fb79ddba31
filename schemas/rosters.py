"""The state's student roster: canonical columns, subgroup code sets and the Pandera schema.

Like vendor files, rosters are read as text so a refused value is reported
exactly as sent.  Subgroup fields are checked against code sets: the defaults
below follow federal reporting categories (EDFacts race/ethnicity codes, Ed-Fi
style sex and grade-level descriptors); a state replaces any of them with a
TOML file (`CREDX_ROSTER_CODE_SETS` or `--code-sets`)::

    gender = ["F", "M", "X"]
    race_ethnicity = ["AM7", "AS7", "BL7", "HI7", "MU7", "PI7", "WH7"]
    grade = ["09", "10", "11", "12"]
    pathway = ["IT-NET", "HLTH-CNA"]   # no default: any code is accepted unless listed
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from kernel.errors import InvalidInput
from kernel.values import DISTRICT_CODE_PATTERN, DISTRICT_CODE_REASON
from schemas import values
from schemas.exam_results import EARLIEST_BIRTH, _check, _date, _name, _text

ROSTER_COLUMNS = (
    "state_student_id", "first_name", "middle_name", "last_name", "birth_date",
    "district_code", "school_code", "grade", "graduation_cohort", "pathway_code",
    "gender", "race_ethnicity", "economically_disadvantaged", "english_learner", "disability",
)  # fmt: skip
OPTIONAL_ROSTER_COLUMNS = frozenset({"middle_name", "pathway_code"})
REQUIRED_ROSTER_COLUMNS = tuple(c for c in ROSTER_COLUMNS if c not in OPTIONAL_ROSTER_COLUMNS)
FLAG_COLUMNS = ("economically_disadvantaged", "english_learner", "disability")
TRUE_FLAGS = frozenset({"Y", "YES", "TRUE", "1"})
FALSE_FLAGS = frozenset({"N", "NO", "FALSE", "0"})
CODE_SET_NAMES = ("gender", "race_ethnicity", "grade", "pathway")


@dataclass(frozen=True)
class CodeSets:
    """Allowed subgroup codes; `pathway` empty means any well-formed code."""

    gender: frozenset[str] = frozenset({"F", "M", "X"})
    race_ethnicity: frozenset[str] = frozenset({"AM7", "AS7", "BL7", "HI7", "MU7", "PI7", "WH7"})
    grade: frozenset[str] = frozenset({"06", "07", "08", "09", "10", "11", "12"})
    pathway: frozenset[str] = field(default_factory=frozenset)


def load_code_sets(path: Path | None) -> CodeSets:
    """The defaults, with each set the TOML file at `path` names replaced."""
    if path is None:
        return CodeSets()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"code-set file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"code-set file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - set(CODE_SET_NAMES))
    if unknown:
        raise InvalidInput(
            f"code-set file {path}: unknown set(s) {', '.join(unknown)}; "
            f"the sets are {', '.join(CODE_SET_NAMES)}"
        )
    sets = {}
    for name, codes in document.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            raise InvalidInput(f"code-set file {path}: {name} must be a list of text codes")
        sets[name] = frozenset(codes)
    return replace(CodeSets(), **sets)


def _in_code_set(codes: frozenset[str], what: str) -> list[pa.Check]:
    shown = ", ".join(sorted(codes))
    return [_check(lambda s: values.in_set(s, codes), f"not a {what} code; use one of: {shown}")]


def _flag() -> list[pa.Check]:
    allowed = TRUE_FLAGS | FALSE_FLAGS
    return [_check(lambda s: values.in_set(s, allowed, casefold=True), "must be Y or N")]


def roster_schema(codes: CodeSets, today: date) -> pa.DataFrameSchema:
    """The schema for one roster's rows, given the state's code sets and the day of import."""
    code = r"[A-Za-z0-9\-]+"
    pathway = (
        _in_code_set(codes.pathway, "pathway")
        if codes.pathway
        else _text(32, code, "must be letters, digits or '-'")
    )
    columns = {
        "state_student_id": _text(32, code, "must be letters, digits or '-'"),
        "first_name": _name(),
        "middle_name": _name(),
        "last_name": _name(),
        "birth_date": _date(EARLIEST_BIRTH, today, "birth date"),
        "district_code": _text(16, DISTRICT_CODE_PATTERN, DISTRICT_CODE_REASON),
        "school_code": _text(16, code, "must be letters, digits or '-'"),
        "grade": _in_code_set(codes.grade, "grade"),
        "graduation_cohort": [
            _check(lambda s: values.matches(s, r"20[0-9]{2}"), "must be a year, e.g. 2026")
        ],
        "pathway_code": pathway,
        "gender": _in_code_set(codes.gender, "gender"),
        "race_ethnicity": _in_code_set(codes.race_ethnicity, "race/ethnicity"),
        **{name: _flag() for name in FLAG_COLUMNS},
    }
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                checks=checks, nullable=name in OPTIONAL_ROSTER_COLUMNS, required=True
            )
            for name, checks in columns.items()
        },
        strict=False,
        coerce=False,
    )


def typed_roster_columns(frame: pd.DataFrame) -> dict[str, list]:
    """Database-ready values for rows that passed (dates as ISO text, flags as booleans)."""
    out: dict[str, list] = {}
    for name in ROSTER_COLUMNS:
        series = frame[name]
        if name == "birth_date":
            out[name] = values.iso_dates(series)
        elif name == "graduation_cohort":
            out[name] = [int(v) for v in series.tolist()]
        elif name in FLAG_COLUMNS:
            out[name] = [str(v).upper() in TRUE_FLAGS for v in series.tolist()]
        else:
            out[name] = values.as_list(series)
    return out
