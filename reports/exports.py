"""Writing reports out: the public table as CSV or Parquet, and the recorded student-level file.

A public export carries only the suppressed counts (`AttainmentReport.table`).
A student-level export names students, so it is a disclosure: it is recorded
through `agreements.disclosures.record_disclosure` (FERPA 34 CFR 99.32), like
`credx results`, before a byte is written.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from sqlmodel import Session

from agreements.disclosures import Release, record_disclosure
from kernel.csvfile import write_frame
from kernel.errors import InvalidInput
from reports.attainment import ReportRequest
from reports.pathways import PathwayMap
from reports.population import CLAIMED, PASSED, SAT, VERIFIED, gather

FORMATS = ("csv", "parquet")
STUDENT_COLUMNS = (
    "state_student_id", "district", "school", "graduation_cohort", "pathway", "credential",
    "completed_sequence", "sat_exam", "passed_exam", "earned_verified", "earned_claimed",
)  # fmt: skip


def check_format(name: str, out: Path | None) -> str:
    if name not in FORMATS:
        raise InvalidInput(f"--format {name}: choose csv or parquet")
    if name == "parquet" and out is None:
        raise InvalidInput("--format parquet writes a binary file: give --out FILE")
    return name


def table_bytes(table: pd.DataFrame, fmt: str) -> bytes:
    """The table as a CSV (formula-safe cells, missing values empty) or Parquet file."""
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return (write_frame(table, None) or "").encode("utf-8")


def student_level(
    session: Session, request: ReportRequest, pathways: PathwayMap | None, release: Release,
    actor: str,
) -> pd.DataFrame:  # fmt: skip
    """One row per student and credential they touched, recorded as a disclosure first."""
    request = request.check()
    population = gather(session, request.window)
    facts: dict[tuple[str, str], set[str]] = {}
    for person, credential, event in population.events:
        facts.setdefault((person, credential), set()).add(event)
    for person, student in population.students.items():
        for credential in pathways.credentials_of(student.pathway) if pathways else ():
            facts.setdefault((person, credential), set()).add("completed")
    if not facts:
        raise InvalidInput(
            f"{request.state} {request.school_year}: no student has anything to release "
            "(no linked results, uploads or pathway completions)"
        )
    rows = [_student_row(population.students[p], c, e) for (p, c), e in sorted(facts.items())]
    table = pd.DataFrame(rows, columns=list(STUDENT_COLUMNS))
    record_disclosure(
        session, release, agreement_id=None, data_elements=STUDENT_COLUMNS,
        students=table["state_student_id"], actor=actor,
    )  # fmt: skip
    return table


def _student_row(student, credential: str, events: set[str]) -> list:
    return [
        student.state_student_id, student.district, student.school, student.graduation_cohort,
        student.pathway, credential, "completed" in events, SAT in events, PASSED in events,
        VERIFIED in events, CLAIMED in events,
    ]  # fmt: skip


def write_out(data: bytes, out: Path) -> None:
    """Write a report file readable by its owner only (it may be a disclosure)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    out.chmod(0o600)
