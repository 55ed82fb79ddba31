"""The rules no match score overrides: which pairs never merge, and when they stand down.

Pure, vectorised over scored edges (`linkage.scoring.EDGE_COLUMNS`); used by
`linkage.clusters`.  Each veto is a fact about people the Fellegi-Sunter score
cannot know: twins share everything but a first name, a parent and a child can
share a name and a home, and schools number students in sequence.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import numpy as np
import pandas as pd

DIFFERS = 0  # Splink gamma of an "else" level (NULL is -1, any agreement level is above 0)
STATE_ID_EXACT = 2  # gamma of the state student id comparison's exact level
STATE_ID_ONE_EDIT = 1
IDENTITY = ("gamma_first_name", "gamma_last_name", "gamma_birth_date")
# the rules no score overrides, in the order they are named when several apply
VETOES = ("id_conflict", "first_name_differs", "birth_date_differs")


def edits(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (substitutions, insertions, deletions, adjacent
    transpositions) of `a` and `b`, or `limit + 1` once it is certain to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return min(previous[-1], limit + 1)


ID_TYPOS = 2  # two ids this close in one person are typos of one id (double typos happen)


def ids_compatible(left: AbstractSet[str], right: AbstractSet[str]) -> bool:
    """Two state student ids in one person are a conflict unless one is a typo of the other
    (at most `ID_TYPOS` edits: two typo'd copies of one id can be two edits apart).  The
    merge asking has a strong edge with no veto, so names and birth date agree too."""
    return all(edits(a, b, ID_TYPOS) <= ID_TYPOS for a in left for b in right)


def candidate_groups(frame: pd.DataFrame) -> np.ndarray:
    """Per row of `frame`: one integer per (source, candidate id, state), -1 without one."""
    has = (frame["source"].notna() & frame["source_person_id"].notna()).to_numpy()
    group = np.full(len(frame), -1, dtype=np.int64)
    rows = np.flatnonzero(has)
    if len(rows):
        keys = frame[["source", "source_person_id", "state"]].iloc[rows].fillna("")
        group[rows] = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    return group


def identity_agreements(edges: pd.DataFrame) -> np.ndarray:
    """Per edge: how many of first name, last name and birth date agree at some level."""
    return sum((edges[c].to_numpy() > DIFFERS).astype(np.int64) for c in IDENTITY)


def identity_disagreements(
    edges: pd.DataFrame, unreliable: AbstractSet[str] = frozenset()
) -> np.ndarray:
    """Per edge: how many of first name, last name and birth date disagree entirely
    (a missing value neither agrees nor disagrees; nor does an `unreliable` field)."""
    reliable = [c for c in IDENTITY if c.removeprefix("gamma_") not in unreliable]
    return sum((edges[c].to_numpy() == DIFFERS).astype(np.int64) for c in reliable) + np.zeros(
        len(edges), dtype=np.int64
    )


def vetoes(
    edges: pd.DataFrame, candidate: np.ndarray, unreliable: AbstractSet[str] = frozenset()
) -> np.ndarray:
    """Per edge: the rule that keeps it from merging (`VETOES`), or None.

    `candidate`: `candidate_groups` of the rows the edges' positions point at.
    `unreliable`: comparisons (`first_name`, `birth_date`, ...) whose values disagree
    entirely in so many true matches of this data (`unreliable_fields`) that their
    disagreement proves nothing: no rule rests on them.
    """
    disagree = identity_disagreements(edges, unreliable)
    ssid = edges["gamma_state_student_id"].to_numpy()
    left, right = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    same_candidate = (candidate[left] >= 0) & (candidate[left] == candidate[right])
    id_agrees = (ssid >= STATE_ID_ONE_EDIT) | same_candidate
    reason = np.full(len(edges), None, dtype=object)
    rules = (
        ("birth_date_differs", _differs(edges, "birth_date", unreliable)),
        ("first_name_differs", _differs(edges, "first_name", unreliable)),
        # the id is all they share: two of the three disagree, or none agrees
        (
            "id_conflict",
            id_agrees & ((disagree >= 2) | ((identity_agreements(edges) == 0) & (disagree >= 1))),
        ),
    )
    for name, applies in rules:  # the last rule applied wins: VETOES order, reversed
        reason[applies] = name
    return reason


def _differs(edges: pd.DataFrame, comparison: str, unreliable: AbstractSet[str]) -> np.ndarray:
    if comparison in unreliable:
        return np.zeros(len(edges), dtype=bool)
    return edges[f"gamma_{comparison}"].to_numpy() == DIFFERS


RELIABLE_BELOW = 0.04


def unreliable_fields(m_differs: dict[str, float | None]) -> frozenset[str]:
    """The comparisons whose entire disagreement no rule may rest on in this data.

    The model's `m` of each field's "else" level is the share of true matches whose
    values disagree entirely.  In student records that share is small for names, birth
    date and id together (measured: 0.013 on average over the four, in either
    generator): a disagreement there is evidence of two people, and the rules use it.
    Data whose errors replace whole fields (FEBRL: 0.07 to 0.12) is not like that, and
    rules resting on those fields would refuse true matches by the hundred; when the
    average reaches `RELIABLE_BELOW` none of the rules applies, and the run says so.
    """
    known = [m for m in m_differs.values() if m is not None]
    if not known or sum(known) / len(known) < RELIABLE_BELOW:
        return frozenset()
    return frozenset(m_differs)
