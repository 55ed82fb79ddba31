"""What an agreement allows into the tables: pure functions over validated rows.

Every row is taken in under exactly one agreement: the first (by id) in force
whose party states include the row's state and whose scope includes its
credential.  Rows no agreement covers are rejected with the reason, and the
columns an agreement does not permit are blanked before anything is stored
(data minimisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from agreements.terms import Terms
from schemas.columns import OPTIONAL_COLUMNS


@dataclass(frozen=True)
class Assignment:
    agreement_ids: pd.Series  # agreement id per row, None where refused
    refusals: pd.DataFrame  # row_number, canonical, value, reason


def _decide(
    state: str, code: str, agreements: list[Terms], vendor: str, day: date
) -> tuple[str, str]:
    """(agreement id, "") or ("", reason) for one (state, credential) pair."""
    parties = [t for t in agreements if state in t.states]
    if not parties:
        return "", (
            f"state {state} is not party to any agreement with vendor {vendor} in force on "
            f"{day.isoformat()}; the row was not stored"
        )
    for terms in parties:
        if code in terms.credentials:
            return terms.id, ""
    names = ", ".join(t.id for t in parties)
    return "", f"credential {code} is outside the scope of agreement {names} for state {state}"


def assign_rows(frame: pd.DataFrame, agreements: list[Terms], vendor: str, day: date) -> Assignment:
    """Decide once per distinct (state, credential) pair, then spread it over the rows."""
    pairs = frame["state"].str.upper() + "|" + frame["credential_code"]

    def decide(pair: str) -> tuple[str, str]:
        state, code = pair.split("|", 1)
        return _decide(state, code, agreements, vendor, day)

    decided = {pair: decide(pair) for pair in pairs.unique()}
    chosen = pairs.map({pair: d[0] or None for pair, d in decided.items()}).astype(object)
    refused = chosen.isna()
    if not refused.any():
        return Assignment(chosen, _NO_REFUSALS)
    rows = frame[refused]
    reasons = pairs[refused].map({pair: d[1] for pair, d in decided.items()})
    on_state = reasons.str.startswith("state ")
    refusals = pd.DataFrame({
        "row_number": rows.index.astype("int64"),
        "canonical": ["state" if s else "credential_code" for s in on_state],
        "value": rows["state"].where(on_state, rows["credential_code"]).astype(object).tolist(),
        "reason": reasons.tolist(),
    })  # fmt: skip
    return Assignment(chosen.where(~refused, None), refusals)


_NO_REFUSALS = pd.DataFrame(
    {"row_number": pd.Series([], dtype="int64"), "canonical": [], "value": [], "reason": []}
)


def columns_not_permitted(terms: Terms) -> list[str]:
    """Optional columns this agreement does not let credx keep."""
    return sorted(c for c in OPTIONAL_COLUMNS if c not in terms.data_elements)


def minimise(frame: pd.DataFrame, agreement_ids: pd.Series, agreements: list[Terms]) -> set[str]:
    """Blank, in place, the cells each row's agreement does not permit; return columns touched."""
    dropped: set[str] = set()
    for terms in agreements:
        blocked = columns_not_permitted(terms)
        rows = agreement_ids == terms.id
        if not blocked or not rows.any():
            continue
        carried = [c for c in blocked if frame.loc[rows, c].notna().any()]
        if carried:
            frame.loc[rows, carried] = None
            dropped.update(carried)
    return dropped
