"""The credential-code registry: which credentials credx knows.

Codes follow Florida's scheme: eight characters, five letters naming the
certifying agency and three digits naming the credential (`ADESK002`).  The
registry ships with a sample list and grows with `credx credentials load`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

import kernel.database  # noqa: F401
from kernel.clock import utcnow
from kernel.errors import InvalidInput

CODE_PATTERN = r"[A-Z]{5}[0-9]{3}"
CODE = re.compile(CODE_PATTERN)
REGISTRY_COLUMNS = ("code", "agency", "name")


class Credential(SQLModel, table=True):
    """A certification a state may count (Ed-Fi: Certification)."""

    __tablename__ = "credentials"

    code: str = Field(primary_key=True, max_length=8)
    agency: str = Field(max_length=200)
    name: str = Field(max_length=300)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class RegistryLoad:
    added: int
    updated: int
    unchanged: int


def parse_registry_csv(text: str, source: str) -> list[tuple[str, str, str]]:
    """Rows of (code, agency, name); any bad line refuses the whole file, naming the line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if header[:3] != list(REGISTRY_COLUMNS) or len(header) != 3:
        raise InvalidInput(
            f"{source}: header must be exactly `code,agency,name`, found `{','.join(header)}`"
        )
    rows: list[tuple[str, str, str]] = []
    seen: dict[str, int] = {}
    for line_no, record in enumerate(reader, start=2):
        values = [(record.get(k) or "").strip() for k in reader.fieldnames or []]
        if None in record or len(values) != 3:
            raise InvalidInput(f"{source} line {line_no}: expected 3 fields")
        code, agency, name = values
        if not CODE.fullmatch(code):
            raise InvalidInput(
                f"{source} line {line_no}: {code!r} is not a credential code "
                "(five capital letters and three digits, e.g. ADESK002)"
            )
        if not agency or not name:
            raise InvalidInput(f"{source} line {line_no}: agency and name must not be empty")
        if code in seen:
            raise InvalidInput(f"{source} line {line_no}: {code} repeats line {seen[code]}")
        seen[code] = line_no
        rows.append((code, agency, name))
    return rows


def load_registry(session: Session, rows: list[tuple[str, str, str]]) -> RegistryLoad:
    """Add new codes and update changed ones; codes are never deleted (old rows cite them)."""
    existing = {c.code: c for c in session.exec(select(Credential))}
    added = updated = unchanged = 0
    for code, agency, name in rows:
        current = existing.get(code)
        if current is None:
            session.add(Credential(code=code, agency=agency, name=name))
            added += 1
        elif (current.agency, current.name) != (agency, name):
            current.agency, current.name, current.updated_at = agency, name, utcnow()
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return RegistryLoad(added, updated, unchanged)


def load_registry_file(session: Session, path: Path) -> RegistryLoad:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_registry(session, parse_registry_csv(text, str(path)))


def seed_registry(session: Session) -> RegistryLoad:
    """Load the sample list shipped with credx (used by `credx init`)."""
    text = resources.files("schemas").joinpath("data/credentials.csv").read_text(encoding="utf-8")
    return load_registry(session, parse_registry_csv(text, "built-in registry"))


def known_codes(session: Session) -> frozenset[str]:
    return frozenset(session.exec(select(Credential.code)))


def list_credentials(session: Session) -> list[Credential]:
    return list(session.exec(select(Credential).order_by(Credential.code)))
