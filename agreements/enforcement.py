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
from schemas.exam_results import OPTIONAL_COLUMNS


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
    """Decide per distinct (state, credential) pair, then spread the decision over the rows."""
    states = frame["state"].str.upper()
    codes = frame["credential_code"]
    pairs = pd.MultiIndex.from_arrays([states, codes])
    decisions = {pair: _decide(*pair, agreements, vendor, day) for pair in pairs.unique()}
    chosen = pd.Series([decisions[p][0] or None for p in pairs], index=frame.index, dtype=object)
    reasons = pd.Series([decisions[p][1] for p in pairs], index=frame.index, dtype=object)
    refused = chosen.isna()
    on_state = refused & reasons.str.startswith("state ")
    refusals = pd.DataFrame({
        "row_number": frame.index[refused].astype("int64"),
        "canonical": ["state" if s else "credential_code" for s in on_state[refused]],
        "value": [
            frame.at[n, "state"] if s else frame.at[n, "credential_code"]
            for n, s in zip(frame.index[refused], on_state[refused], strict=True)
        ],
        "reason": reasons[refused].tolist(),
    })  # fmt: skip
    return Assignment(chosen, refusals)


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
