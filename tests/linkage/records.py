"""Literal student records for linkage tests: one pair per error process."""

import pandas as pd


def rec(record_id: str, first: str, last: str, dob: str, **extra: str) -> dict:
    return {
        "record_id": record_id,
        "first_name": first,
        "last_name": last,
        "birth_date": dob,
        "state": "LA",
        **extra,
    }


ERROR_PAIRS = {
    "nickname": (
        rec("n1", "William", "Thibodeaux", "2008-03-12", school_code="101", gender="M"),
        rec("n2", "Bill", "Thibodeaux", "2008-03-12", school_code="101", gender="M"),
    ),
    "nickname_liz": (
        rec("z1", "Elizabeth", "Fontenot", "2007-11-02"),
        rec("z2", "Liz", "Fontenot", "2007-11-02"),
    ),
    "day_month_swapped": (
        rec("s1", "Maria", "Landry", "2007-04-05", school_code="102"),
        rec("s2", "Maria", "Landry", "2007-05-04", school_code="102"),
    ),
    "hyphenated_surname": (
        rec("h1", "Anna", "Broussard-Hebert", "2008-01-20"),
        rec("h2", "Anna", "Broussard", "2008-01-20"),
    ),
    "state_id_typo": (
        rec("i1", "James", "Guidry", "2008-06-01", state_student_id="1234567"),
        rec("i2", "James", "Guidry", "2008-06-01", state_student_id="1234576"),
    ),
    "first_last_swapped": (
        rec("w1", "Tran", "Minh", "2008-02-14", school_code="104"),
        rec("w2", "Minh", "Tran", "2008-02-14", school_code="104"),
    ),
}

TWINS = (
    rec("t1", "Emma", "Nguyen", "2008-09-09", school_code="103", gender="F"),
    rec("t2", "Olivia", "Nguyen", "2008-09-09", school_code="103", gender="F"),
)

STRANGERS = (
    rec("x1", "John", "Doe", "2006-02-02"),
    rec("x2", "Jane", "Roe", "2006-02-02"),
    rec("x3", "John", "Doe", "1999-12-30", school_code="900"),
)


def frame(*records: dict) -> pd.DataFrame:
    return pd.DataFrame(list(records))


def all_fixtures() -> pd.DataFrame:
    pairs = [r for pair in ERROR_PAIRS.values() for r in pair]
    return frame(*pairs, *TWINS, *STRANGERS)


def together(result, a: str, b: str) -> bool:
    """Whether a link run put records `a` and `b` in one person."""
    return result.clusters[a] == result.clusters[b]


def review_reasons(result) -> dict[tuple[str, str], str]:
    """A link run's review pairs (ids sorted) and why each went to review."""
    pairs = result.review_pairs
    return {
        tuple(sorted((left, right))): reason
        for left, right, reason in pairs[["record_id_l", "record_id_r", "reason"]].itertuples(
            index=False
        )
    }
