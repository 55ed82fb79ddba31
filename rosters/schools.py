"""Each state's school list: the schools a roster may name.

Loaded from a CSV with header `district_code,school_code,name` (the state's
own directory export), optionally with a fourth column, `district_name`, which pages
show beside the district's code.  Like the credential registry it only grows: a load
adds and renames schools, never deletes, so earlier rosters stay valid.  A bad
line refuses the whole file, naming the line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from kernel.clock import utcnow
from kernel.errors import InvalidInput
from kernel.values import DISTRICT_CODE_REASON, is_district_code, refusal
from rosters.models import School

SCHOOL_COLUMNS = ("district_code", "school_code", "name")
WITH_DISTRICT_NAME = (*SCHOOL_COLUMNS, "district_name")
CODE = re.compile(r"[A-Za-z0-9\-]{1,16}")


@dataclass(frozen=True)
class SchoolLoad:
    added: int
    updated: int
    unchanged: int


def parse_schools_csv(text: str, source: str) -> list[tuple[str, str, str, str | None]]:
    """Rows of (district_code, school_code, name, district_name or None); any bad line
    refuses the file."""
    reader = csv.reader(io.StringIO(text))
    header = tuple(h.strip().lower() for h in next(reader, []))
    if header not in (SCHOOL_COLUMNS, WITH_DISTRICT_NAME):
        raise InvalidInput(
            f"{source}: header must be exactly `district_code,school_code,name` (optionally "
            f"`,district_name`), found `{','.join(header)}`"
        )
    rows: dict[tuple[str, str], int] = {}
    out = []
    for line_no, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        district, school, name, district_name = _fields(record, len(header), source, line_no)
        if (district, school) in rows:
            raise InvalidInput(
                f"{source} line {line_no}: school {district}/{school} repeats line "
                f"{rows[(district, school)]}"
            )
        rows[(district, school)] = line_no
        out.append((district, school, name, district_name))
    if not out:
        raise InvalidInput(f"{source}: no schools listed")
    return out


def _fields(
    record: list[str], width: int, source: str, line_no: int
) -> tuple[str, str, str, str | None]:
    if len(record) != width:
        raise InvalidInput(f"{source} line {line_no}: expected {width} fields, found {len(record)}")
    district, school, name, *rest = (cell.strip() for cell in record)
    district_name = rest[0] if rest and rest[0] else None
    if district_name is not None and len(district_name) > 200:
        raise InvalidInput(f"{source} line {line_no}: district_name must be at most 200 characters")
    if not is_district_code(district):
        raise InvalidInput(
            f"{source} line {line_no}: district_code {refusal(district, DISTRICT_CODE_REASON)}"
        )
    if not CODE.fullmatch(school):
        raise InvalidInput(
            f"{source} line {line_no}: school_code {school!r} must be 1-16 letters, digits or '-'"
        )
    if not name or len(name) > 200:
        raise InvalidInput(f"{source} line {line_no}: name must be 1-200 characters")
    return district, school, name, district_name


def load_schools(session: Session, state: str, path: Path) -> SchoolLoad:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"school list {path} does not exist") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"school list {path} is not UTF-8 text") from None
    rows = parse_schools_csv(text, path.name)
    existing = {(s.district_code, s.school_code): s for s in _schools(session, state)}
    added = updated = 0
    for district, school, name, district_name in rows:
        known = existing.get((district, school))
        if known is None:
            session.add(School(state=state, district_code=district, school_code=school, name=name,
                               district_name=district_name))  # fmt: skip
            added += 1
        elif known.name != name or (district_name and known.district_name != district_name):
            known.name, known.updated_at = name, utcnow()
            known.district_name = district_name or known.district_name  # a list without: kept
            updated += 1
    session.flush()
    return SchoolLoad(added, updated, len(rows) - added - updated)


def _schools(session: Session, state: str) -> list[School]:
    return list(session.exec(select(School).where(School.state == state)))


def known_schools(session: Session, state: str) -> frozenset[tuple[str, str]]:
    """(district_code, school_code) pairs of the state's schools."""
    return frozenset((s.district_code, s.school_code) for s in _schools(session, state))
