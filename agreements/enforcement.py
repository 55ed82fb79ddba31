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
import pyarrow as pa
import pyarrow.compute as pc

from agreements.terms import Terms
from schemas.columns import OPTIONAL_COLUMNS
from schemas.values import as_arrow


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
    """Decide once per distinct (state, credential) pair, then spread it over the rows.

    `frame` needs only `state` and `credential_code`, both present (the schema passed).
    """
    pairs = pc.dictionary_encode(pc.binary_join_element_wise(
        pc.utf8_upper(as_arrow(frame["state"])), as_arrow(frame["credential_code"]), "|"
    ))  # fmt: skip
    decided = [
        _decide(state, code, agreements, vendor, day)
        for state, code in (pair.split("|", 1) for pair in pairs.dictionary.to_pylist())
    ]
    chosen = pa.array([d[0] or None for d in decided], pa.string()).take(pairs.indices)
    agreement_ids = pd.Series(chosen.to_numpy(zero_copy_only=False), index=frame.index,
                              dtype=object)  # fmt: skip
    if not chosen.null_count:
        return Assignment(agreement_ids, _NO_REFUSALS)
    refused = chosen.is_null().to_numpy(zero_copy_only=False)
    rows = frame[refused]
    reasons = [decided[i][1] for i in pairs.indices.filter(pc.is_null(chosen)).to_pylist()]
    on_state = [reason.startswith("state ") for reason in reasons]
    refusals = pd.DataFrame({
        "row_number": rows.index.astype("int64"),
        "canonical": ["state" if s else "credential_code" for s in on_state],
        "value": rows["state"].where(on_state, rows["credential_code"]).astype(object).tolist(),
        "reason": reasons,
    })  # fmt: skip
    return Assignment(agreement_ids, refusals)


_NO_REFUSALS = pd.DataFrame(
    {"row_number": pd.Series([], dtype="int64"), "canonical": [], "value": [], "reason": []}
)


def columns_not_permitted(terms: Terms) -> list[str]:
    """Optional columns this agreement does not let credx keep."""
    return sorted(c for c in OPTIONAL_COLUMNS if c not in terms.data_elements)


def minimise(
    columns: dict[str, pa.Array], agreement_ids: pa.Array, agreements: list[Terms]
) -> set[str]:
    """Blank, in place, the values each row's agreement does not permit (`columns`: the rows'
    values by column, `agreement_ids` their agreements); return the columns touched."""
    dropped: set[str] = set()
    for terms in agreements:
        blocked = columns_not_permitted(terms)
        if not blocked:  # the usual agreement: nothing to blank, no need to find its rows
            continue
        rows = pc.fill_null(pc.equal(agreement_ids, terms.id), False)
        if not pc.any(rows).as_py():
            continue
        for column in blocked:
            if pc.any(pc.and_(rows, pc.is_valid(columns[column]))).as_py():
                columns[column] = pc.if_else(rows, pa.scalar(None, pa.string()), columns[column])
                dropped.add(column)
    return dropped
