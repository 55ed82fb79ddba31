"""Per-vendor column mappings: how a vendor's headers map to credx's canonical layout.

A mapping is a small TOML document an operator can review::

    encoding = "utf-8"            # or "latin-1", "cp1252" for legacy exports
    [columns]                     # vendor header = canonical column
    "Candidate ID" = "candidate_id"
    "DOB" = "birth_date"
    [defaults]                    # values for columns the vendor never sends
    state = "TN"

Headers that already carry a canonical name (in any case) need no entry.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kernel.errors import InvalidInput
from schemas.columns import CANONICAL_COLUMNS

ALLOWED_KEYS = {"encoding", "columns", "defaults"}


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"

    def resolve(self, header: list[str]) -> tuple[dict[str, str], list[str]]:
        """(file header -> canonical column, headers that map to nothing)."""
        canonical = {c.lower(): c for c in CANONICAL_COLUMNS}
        resolved: dict[str, str] = {}
        ignored: list[str] = []
        for name in header:
            target = self.columns.get(name) or canonical.get(name.strip().lower())
            if target is None:
                ignored.append(name)
            elif target in resolved.values():
                first = next(k for k, v in resolved.items() if v == target)
                raise InvalidInput(
                    f"columns {first!r} and {name!r} both map to {target}; keep one of them"
                )
            else:
                resolved[name] = target
        return resolved, ignored


def load_mapping(path: Path) -> ColumnMapping:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"mapping file {path} is not valid TOML: {exc}") from None
    return parse_mapping(document, str(path))


def parse_mapping(document: dict, source: str) -> ColumnMapping:
    unknown = set(document) - ALLOWED_KEYS
    if unknown:
        raise InvalidInput(
            f"{source}: unknown keys {sorted(unknown)}; allowed: {sorted(ALLOWED_KEYS)}"
        )
    columns = document.get("columns", {})
    defaults = document.get("defaults", {})
    for key, table in (("columns", columns), ("defaults", defaults)):
        if not isinstance(table, dict):
            raise InvalidInput(
                f"{source}: [{key}] must be a table of name = value lines, not {table!r}"
            )
    for header, target in columns.items():
        if target not in CANONICAL_COLUMNS:
            raise InvalidInput(
                f"{source}: [columns] {header!r} maps to {target!r}, which is not a canonical "
                f"column; choose one of: {', '.join(CANONICAL_COLUMNS)}"
            )
    for name, value in defaults.items():
        if name not in CANONICAL_COLUMNS or not isinstance(value, str):
            raise InvalidInput(f"{source}: [defaults] {name!r} must be a canonical column = text")
    encoding = document.get("encoding", "utf-8")
    try:
        # the readers decode through TextIOWrapper, which refuses codecs such as rot13 or base64
        io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    except (LookupError, TypeError):
        raise InvalidInput(
            f"{source}: unknown encoding {encoding!r}; use a text encoding such as utf-8, "
            "latin-1 or cp1252"
        ) from None
    return ColumnMapping(columns=dict(columns), defaults=dict(defaults), encoding=encoding)
