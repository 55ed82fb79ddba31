"""What the CLI says instead of a traceback when the fault is the operator's to fix.

A missing file, a directory where a file was wanted, a file that cannot be read, a
database another process holds locked: each is an exception from deep inside a library,
raised with no `CredxError` around it.  `operator_error` turns those into a message and
a hint; anything else is a bug and still surfaces as one.
"""

from __future__ import annotations

import errno
from pathlib import Path

LOCKED = ("database is locked", "database table is locked", "database is busy")


def operator_error(exc: BaseException) -> tuple[str, str | None] | None:
    """(message, hint) for a fault an operator can fix; None for a bug."""
    if isinstance(exc, IsADirectoryError):
        return f"{_name(exc)} is a folder: give the path of a file", None
    if isinstance(exc, FileNotFoundError):
        return f"{_name(exc)} does not exist: check the path", None
    if isinstance(exc, NotADirectoryError):
        return f"{_name(exc)}: a part of the path is a file, not a folder", None
    if isinstance(exc, PermissionError):
        return f"{_name(exc)} cannot be read or written by this user: check its permissions", None
    if isinstance(exc, UnicodeDecodeError):
        return "the file is not UTF-8 text: save it as UTF-8 (\"CSV UTF-8\") and try again", None
    if _is_locked(exc):
        return (
            "the database is busy: another credx process holds its write lock; try again when "
            "it has finished",
            "raise CREDX_SQLITE_BUSY_TIMEOUT_SECONDS to wait longer, or use PostgreSQL for "
            "concurrent work",
        )
    if type(exc).__name__ == "MarkupError":  # a value broke a progress line's markup
        return "a value could not be shown (it holds [ ] brackets): " + str(exc)[:200], None
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG):
        return f"{_name(exc)}: {exc.strerror}", None
    return None


def _name(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else "the file"
    return repr(str(Path(str(name)))) if name != "the file" else name


def _is_locked(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "OperationalError" and any(
            text in str(current).lower() for text in LOCKED
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
