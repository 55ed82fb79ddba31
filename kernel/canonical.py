"""One canonical JSON for everything credx hashes or signs: RFC 8785 (JCS).

RFC 8785 fixes what plain `json.dumps(sort_keys=True)` leaves open (number
formatting, key order by UTF-16 code units, which characters are escaped), so
another implementation in any language produces the same bytes.  For the
documents credx signed before it adopted RFC 8785 (event-log entries,
certificates of destruction, log checkpoints: strings, integers, booleans,
null, arrays and objects with ASCII keys) both rules give identical bytes, so
everything signed earlier still verifies; `tests/eventlog/fixtures/legacy-*`
holds such documents and a test checks them byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of `value`; raises `ValueError` on NaN, Infinity or unknown types."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonicalisable as JSON: {exc}") from None


def canonical_text(value: Any) -> str:
    """`canonical_json` as text, with dates, paths and other values given by their `str()`.

    For event details, which name files, dates and ids: they are recorded as
    the strings a reader would see, never silently dropped.
    """
    plain = json.loads(json.dumps(value, default=str, allow_nan=False))
    return canonical_json(plain).decode("utf-8")


def strict_json_loads(text: str) -> Any:
    """JSON for signed documents: refuses repeated keys and NaN/Infinity (ValueError)."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # a repeated key would let a reader see one value while the signature covers another
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
