"""Helpers for the tests that look for students' values in a database's raw bytes."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, SQLModel, select

from credx.app import App
from exchange.evidence.models import Evidence
from exchange.models import ExamResult
from kernel.sealing import SealedText
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
# turns up by chance about once per 17 million characters: a database with megabytes of tokens
# "contains" a name now and then.  In a text dump every stored value stands between
# delimiters (COPY's tabs, JSON's quotes), so there a value counts only where it stands apart
# from any run of base64 characters.  A database file's records hold values side by side with
# nothing between them, so there an occurrence is discounted only if it lies inside a token
# whose exact extent is proven by opening it (`ciphers`): a plaintext value written right
# after a token, as an unsealed column would be, still counts.
BASE64 = rb"A-Za-z0-9_+/=-"
TOKEN_HEAD = re.compile(rb"s1\.([0-9a-f]{20})\.")
BASE64URL_RUN = re.compile(rb"[A-Za-z0-9_-]*")
SMALLEST_BODY = 38  # base64 of a 12-byte nonce and a 16-byte tag around an empty value


def field_ciphers(home: Path, database_url: str | None = None) -> Callable[[str], AESGCM | None]:
    """The installation's field-key lookup (None for a destroyed or unknown key)."""
    app = App(Settings(home=home, database_url=database_url))
    app.engine.dispose()
    return app.field_keys.cipher


def found_in(
    raw: bytes, values: set[str], *, delimited: bool = False,
    ciphers: Callable[[str], AESGCM | None] | None = None,
) -> list[str]:  # fmt: skip
    """The values that appear in `raw` as stored text, not as chance runs inside ciphertext
    (with `delimited`: as whole values; with `ciphers`: outside tokens proven by opening)."""
    if delimited:
        return sorted(
            v for v in values
            if re.search(rb"(?<![%s])%s(?![%s])" % (BASE64, re.escape(v.encode()), BASE64), raw)
        )  # fmt: skip
    found = []
    for value in values:
        needle = value.encode()
        spots = [m.start() for m in re.finditer(re.escape(needle), raw)]
        if spots and (
            ciphers is None
            or not all(_in_ciphertext(raw, at, at + len(needle), ciphers) for at in spots)
        ):
            found.append(value)
    return sorted(found)


def _in_ciphertext(
    raw: bytes, start: int, end: int, ciphers: Callable[[str], AESGCM | None]
) -> bool:
    """Whether raw[start:end] lies inside the body of a token that opens under its key."""
    head = None
    at = raw.rfind(b"s1.", 0, start + 1)
    while at >= 0 and head is None:
        head = TOKEN_HEAD.match(raw, at)
        at = raw.rfind(b"s1.", 0, at) if head is None else at
    if head is None or start < head.end():
        return False
    cipher = ciphers(head.group(1).decode())
    body_start = head.end()
    run = BASE64URL_RUN.match(raw, body_start)
    assert run is not None  # the pattern matches the empty string
    if end > run.end() or cipher is None:
        return cipher is None and end <= run.end()  # a destroyed key: the whole run
    for length in range(run.end() - body_start, SMALLEST_BODY - 1, -1):
        if body_start + length < end:
            return False
        if length % 4 == 1:
            continue
        body = raw[body_start : body_start + length]
        sealed = base64.urlsafe_b64decode(body + b"=" * (-length % 4))
        for column in SEALED_COLUMNS:
            try:
                cipher.decrypt(sealed[:12], sealed[12:], column)
            except InvalidTag:
                continue
            return True
    return False


SEALED_COLUMNS = sorted(
    {
        column.type.column.encode()
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, SealedText)
    }
)


def plaintext_files(home: Path) -> list[Path]:
    """CSV files left in the home outside the reports an operator asked for."""
    reports = home / "reports"
    return [p for p in home.rglob("*.csv") if reports not in p.parents]
