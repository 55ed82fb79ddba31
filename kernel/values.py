"""Values every domain names: a USPS state code, a school year, a district code.

Each has one check and one wording, here, so an operator, a vendor and a
district clerk read the same words wherever the value is refused.  The scalar
checks raise `InvalidInput`; the schemas check whole columns at once with the
same sets, patterns and `..._REASON` texts (a reason is what a per-cell
rejection report says, without the value, which the report shows beside it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kernel.errors import InvalidInput

# The 50 states, the District of Columbia and the five inhabited territories.
USPS_STATES: frozenset[str] = frozenset(
    [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
        "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
        "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
        "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
    ]
)
STATE_CODE_REASON = "not a two-letter USPS state code (e.g. LA, TN)"

SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{2})")
SCHOOL_YEAR_REASON = "not a school year: write YYYY-YY for two consecutive years, as 2025-26"

DISTRICT_CODE_PATTERN = r"[A-Za-z0-9\-]{1,16}"  # also RE2, for the vectorised column checks
DISTRICT_CODE = re.compile(DISTRICT_CODE_PATTERN)
DISTRICT_CODE_REASON = "not a district code (1-16 letters, digits or '-')"


def refusal(value: str, reason: str) -> str:
    """The message for a refused value: the value as given, then the reason."""
    return f"{value!r} is {reason}"


def is_state_code(text: str) -> bool:
    """A USPS state code, in either case (`la` names Louisiana)."""
    return text.upper() in USPS_STATES


def state_code(text: str, *, field: str | None = None) -> str:
    """The state code `text` names, upper case; `InvalidInput` if it names none."""
    if not is_state_code(text):
        raise InvalidInput(refusal(text, STATE_CODE_REASON), field=field)
    return text.upper()


def state_codes(texts: Iterable[str], *, field: str | None = None) -> frozenset[str]:
    """Every code checked as `state_code`; the first that names no state is refused."""
    return frozenset(state_code(text, field=field) for text in texts)


def school_year_start(text: str) -> int | None:
    """The first calendar year of a school year named `2025-26`, or None if not so named.

    A school year is named by the two consecutive calendar years it spans.
    """
    match = SCHOOL_YEAR.fullmatch(text)
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        return None
    return int(match[1])


def school_year(text: str, *, field: str | None = None) -> str:
    """`text` if it names a school year (`2025-26`); `InvalidInput` if not."""
    if school_year_start(text) is None:
        raise InvalidInput(refusal(text, SCHOOL_YEAR_REASON), field=field)
    return text


def is_district_code(text: str) -> bool:
    return DISTRICT_CODE.fullmatch(text) is not None


def district_code(text: str, *, field: str | None = None) -> str:
    """`text` if it is a district code (as a state assigns them); `InvalidInput` if not."""
    if not is_district_code(text):
        raise InvalidInput(refusal(text, DISTRICT_CODE_REASON), field=field)
    return text
