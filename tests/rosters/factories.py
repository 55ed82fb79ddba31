"""Roster rows and school lists for tests."""

from __future__ import annotations

from pathlib import Path

from schemas.rosters import ROSTER_COLUMNS
from tests.factories import csv_text, write_file

SCHOOLS_CSV = "district_code,school_code,name\nD1,S1,North High\nD1,S2,South High\nD2,S1,Lake\n"


def roster_row(number: int = 1, **overrides: str) -> dict[str, str]:
    row = {
        "state_student_id": f"LA{number:06d}", "first_name": "José", "middle_name": "",
        "last_name": "O'Brien", "birth_date": "2008-03-14", "district_code": "D1",
        "school_code": "S1", "grade": "12", "graduation_cohort": "2026", "pathway_code": "IT-NET",
        "gender": "F", "race_ethnicity": "HI7", "economically_disadvantaged": "Y",
        "english_learner": "n", "disability": "N",
    }  # fmt: skip
    return {**row, **overrides}


def roster_csv(tmp_path: Path, rows: list[dict[str, str]], name: str = "roster.csv") -> Path:
    return write_file(tmp_path, name, csv_text(rows, ROSTER_COLUMNS))


def schools_csv(tmp_path: Path, text: str = SCHOOLS_CSV) -> Path:
    return write_file(tmp_path, "schools.csv", text)
