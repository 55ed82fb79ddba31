"""Realistic synthetic vendor exam-result files, for the demo, tests and benchmarks.

Names cover what real rosters hold (accents, apostrophes, hyphens, Vietnamese
and Spanish surnames); a chosen share of rows carries the mistakes vendors
really make, each of which credx must reject with a reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from schemas.columns import CANONICAL_COLUMNS

FIRST_NAMES = (
    "James", "Mary", "José", "María", "Aaliyah", "DeShawn", "Liam", "Olivia", "Noah", "Emma",
    "Chloé", "Zoë", "Mateo", "Sofía", "Ethan", "Ava", "Jamal", "Imani", "Minh", "Linh",
    "Mary-Kate", "Jean-Luc", "Abigail", "William", "Elizabeth", "Robert", "Jennifer", "Thảo",
    "Seán", "Ngozi", "Kai", "Hannah", "Dmitri", "Priya", "Juan", "Guadalupe", "Tyrone", "Bao",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernández", "López", "Nguyễn", "Trần", "O'Brien", "D'Angelo", "Smith-Jones",
    "García-Márquez", "Boudreaux", "Thibodeaux", "LeBlanc", "Washington", "Jefferson", "Kim",
    "Patel", "Okafor", "St. John", "McDonald", "Van Buren", "Núñez", "Fontenot", "Landry",
)  # fmt: skip
MIDDLE_NAMES = ("", "", "", "Ann", "Lee", "Marie", "James", "Ray", "J.", "Lynn", "Thị", "")
STATES = {"LA": ("036", "017", "026", "009"), "TN": ("190", "470", "792"), "FL": ("13", "29", "48")}
# district names for the school list; none may be a student's name (the demo's sealing
# check looks for students' names in the database's bytes)
LA_DISTRICTS = {"036": "Orleans Parish", "017": "East Baton Rouge Parish",
                "026": "Lafourche Parish", "009": "Caddo Parish"}  # fmt: skip
EXAMS = {
    "MICRO001": ("MO-110", 700), "MICRO002": ("MO-210", 700), "COMPT001": ("220-1101", 675),
    "COMPT004": ("SY0-701", 750), "ADOBE001": ("ACP-PS", 700), "ADESK001": ("ACU-ACAD", 700),
    "NCCER001": ("CORE-5E", 70), "NCCER007": ("ELEC-1", 70), "NCCER027": ("WELD-1", 70),
    "AMWEL001": ("AWS-D1.1", 70), "NRAEF002": ("SSMGR", 75), "OSHAE001": ("OSHA10-GI", 70),
}  # fmt: skip


@dataclass(frozen=True)
class Flaw:
    column: str
    value: str


FLAWS = (
    Flaw("credential_code", "ZZZZZ999"),
    Flaw("birth_date", "02/30/2008"),
    Flaw("last_name", ""),
    Flaw("first_name", '=HYPERLINK("http://example.invalid","click")'),
    Flaw("result", "passed"),
    Flaw("state", "XX"),
    Flaw("exam_date", "2031-01-15"),
    Flaw("score", "high"),
)


class ExamResultFaker:
    def __init__(self, seed: int, vendor_prefix: str = "V", codes: tuple[str, ...] | None = None):
        self.rng = random.Random(seed)
        self.prefix = vendor_prefix
        self.codes = codes or tuple(EXAMS)

    def row(self, number: int) -> dict[str, str]:
        rng = self.rng
        state = rng.choice(tuple(STATES))
        code = rng.choice(self.codes)
        exam_code, cut = EXAMS.get(code, ("EXAM-1", 70))
        cut_scale = 1000 if cut > 100 else 100
        score = rng.randint(int(cut * 0.6), cut_scale)
        born = date(2006, 1, 1) + timedelta(days=rng.randint(0, 4 * 365))
        taken = date(2024, 8, 1) + timedelta(days=rng.randint(0, 600))
        us_dates = rng.random() < 0.1
        return {
            "vendor_record_id": f"{self.prefix}{number:08d}",
            "candidate_id": f"{self.prefix}C{rng.randint(1, 10**7):07d}",
            "state_student_id": f"{state}{rng.randint(10**8, 10**9 - 1)}"
            if rng.random() < 0.7
            else "",
            "first_name": rng.choice(FIRST_NAMES),
            "middle_name": rng.choice(MIDDLE_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "birth_date": born.strftime("%m/%d/%Y") if us_dates else born.isoformat(),
            "state": state,
            "district_code": rng.choice(STATES[state]),
            "school_code": f"{rng.randint(1, 120):03d}",
            "credential_code": code,
            "exam_code": exam_code,
            "exam_date": taken.isoformat(),
            "score": str(score),
            "passing_score": str(cut),
            "result": ("Pass" if score >= cut else "Fail")
            if rng.random() < 0.5
            else ("pass" if score >= cut else "fail"),
            "attempt": str(rng.choice((1, 1, 1, 2, 3))),
        }

    def rows(self, count: int, flaw_rate: float = 0.0) -> Iterator[dict[str, str]]:
        for number in range(1, count + 1):
            row = self.row(number)
            if flaw_rate and self.rng.random() < flaw_rate:
                flaw = self.rng.choice(FLAWS)
                row[flaw.column] = flaw.value
            yield row


def write_csv(
    path: Path, rows: Iterator[dict[str, str]], *, headers: dict[str, str] | None = None,
    compress: bool = False,
) -> Path:  # fmt: skip
    """Write rows under canonical or vendor-specific `headers` (canonical -> header)."""
    headers = headers or {c: c for c in CANONICAL_COLUMNS}
    with open(path, "wb") as raw:
        # mtime=0: the same rows give the same bytes, so a re-sent file is a duplicate
        binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compress else raw
        with io.TextIOWrapper(binary, encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers.values())
            for row in rows:
                writer.writerow(row[c] for c in headers)
    return path


def write_roster(
    folder: Path, students: list[dict[str, str | None]], seed: int
) -> tuple[Path, Path]:
    """A state's roster (and school list) for the students named in its exam results, with
    subgroups drawn at random, plus two rows showing what a roster import rejects."""
    from schemas.rosters import ROSTER_COLUMNS  # the roster layout, only needed here

    rng = random.Random(seed)
    rows = [{
        **{k: s[k] for k in ("state_student_id", "first_name", "middle_name", "last_name",
                             "birth_date", "district_code", "school_code")},
        "grade": "12", "graduation_cohort": "2026",
        "pathway_code": rng.choice(("IT-NET", "HLTH-CNA", "CONST-CRFT", "")),
        "gender": rng.choice(("F", "M")),
        "race_ethnicity": rng.choice(("BL7", "WH7", "HI7", "AS7")),
        "economically_disadvantaged": rng.choice("YN"), "english_learner": rng.choice("NNNY"),
        "disability": rng.choice("NNNY"),
    } for s in students]  # fmt: skip
    if rows:
        rows.append({**rows[0]})  # the same student twice: both copies are rejected
        rows.append({**rows[-2], "state_student_id": "LA000000001", "school_code": "999"})
    schools = sorted({(s["district_code"], s["school_code"]) for s in students})
    schools = sorted({*schools, ("036", "036005")})  # the demo's uploads name this school
    school_list = folder / "la-schools.csv"
    with open(school_list, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("district_code", "school_code", "name", "district_name"))
        writer.writerows((d, s, f"School {d}-{s}", LA_DISTRICTS.get(d or "", ""))
                         for d, s in schools)  # fmt: skip
    roster = folder / "la-roster-2025-26.csv"
    with open(roster, "w", encoding="utf-8", newline="") as handle:
        roster_writer = csv.DictWriter(handle, fieldnames=ROSTER_COLUMNS)
        roster_writer.writeheader()
        roster_writer.writerows(rows)
    return roster, school_list
