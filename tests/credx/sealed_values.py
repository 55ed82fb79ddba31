"""Helpers for the tests that look for students' values in a database's raw bytes."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import Session, select

from credx.app import App
from exchange.evidence.models import Evidence
from exchange.models import ExamResult
from kernel.settings import Settings
from rosters.models import RosterStudent


def students_values(home: Path, database_url: str | None = None) -> set[str]:
    """Every name, birth date (ISO) and student id the installation holds, read through credx
    (so opened with its keys); values shorter than 4 characters are left out."""
    app = App(Settings(home=home, database_url=database_url))
    values: set[str | None] = set()
    try:
        with Session(app.engine) as session:
            for r in session.exec(select(ExamResult)):
                values |= {r.first_name, r.last_name, r.birth_date.isoformat(),
                           r.state_student_id, r.candidate_id}  # fmt: skip
            for s in session.exec(select(RosterStudent)):
                values |= {s.first_name, s.last_name, s.birth_date.isoformat(), s.state_student_id}
            for e in session.exec(select(Evidence)):
                values |= {e.student_name, e.birth_date.isoformat(), e.state_student_id}
    finally:
        app.engine.dispose()
    return {v for v in values if v and len(v) >= 4}


# A sealed value's token (kernel.sealing) is ciphertext in base64url, where a four-letter name
# turns up by chance about once per 17 million characters: a dump with megabytes of tokens
# "contains" a name now and then.  In a text dump every stored value stands between
# delimiters (COPY's tabs, JSON's quotes), so there a value counts only where it stands apart
# from any run of base64 characters.  A database file's records hold values side by side
# with nothing between them, so there any occurrence counts.
BASE64 = rb"A-Za-z0-9_+/=-"


def found_in(raw: bytes, values: set[str], *, delimited: bool = False) -> list[str]:
    """The values that appear in `raw` (with `delimited`: as a whole stored value)."""
    if not delimited:
        return sorted(v for v in values if v.encode() in raw)
    return sorted(
        v for v in values
        if re.search(rb"(?<![%s])%s(?![%s])" % (BASE64, re.escape(v.encode()), BASE64), raw)
    )  # fmt: skip


def plaintext_files(home: Path) -> list[Path]:
    """CSV files left in the home outside the reports an operator asked for."""
    reports = home / "reports"
    return [p for p in home.rglob("*.csv") if reports not in p.parents]
