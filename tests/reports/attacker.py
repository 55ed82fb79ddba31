"""The attacker of suppressed tables: `feasible_values` enumerates every table of
non-negative integers that agrees with everything published (visible inner cells and
visible totals) and collects, per hidden cell, the values it can take.  A cell with one
feasible value has been disclosed.
"""

from __future__ import annotations

import numpy as np

from reports.suppression import SuppressedTable


def feasible_values(result: SuppressedTable) -> dict[tuple[int, int], set[int]]:
    """Per hidden cell of the grid (margins included), the values consistent tables give it.

    A consistent table is the true one plus a change `d` to the hidden inner
    cells that leaves every visible cell and visible total as published and
    no cell negative.  The search is depth-first over the hidden inner cells
    in reading order, each changed by -1, 0 or +1, except that the last
    hidden cell of a line with a visible total is solved for.  Limiting the
    other changes to one step only finds fewer tables, so "more than one
    value" stays a sound finding, and a cell the equations pin down shows
    exactly one.
    """
    counts = result.counts.to_numpy()
    hidden = result.suppressed.to_numpy()
    rows, columns = counts.shape[0] - 1, counts.shape[1] - 1
    unknown = [(i, j) for i in range(rows) for j in range(columns) if hidden[i, j]]
    last_in_row = {i: max((c for c in unknown if c[0] == i), default=None) for i in range(rows)}
    last_in_col = {j: max((c for c in unknown if c[1] == j), default=None) for j in range(columns)}
    delta = np.zeros((rows, columns), dtype=np.int64)
    found: dict[tuple[int, int], set[int]] = {}

    def options(i: int, j: int) -> list[int]:
        if last_in_row[i] == (i, j) and not hidden[i, columns]:
            return [int(-delta[i].sum())]
        if last_in_col[j] == (i, j) and not hidden[rows, j]:
            return [int(-delta[:, j].sum())]
        return [-1, 0, 1]

    def closes(i: int, j: int) -> bool:
        """The lines this cell completes still add up to their visible totals."""
        if last_in_col[j] == (i, j) and not hidden[rows, j] and delta[:, j].sum():
            return False
        done = (i, j) == unknown[-1]
        return not (done and not hidden[rows, columns] and delta.sum())

    def record() -> None:
        full = counts + _with_margins(delta)
        for cell in zip(*np.nonzero(hidden), strict=True):
            found.setdefault(tuple(map(int, cell)), set()).add(int(full[cell]))

    def search(k: int) -> None:
        if k == len(unknown):
            if (counts + _with_margins(delta) >= 0).all():
                record()
            return
        i, j = unknown[k]
        for change in options(i, j):
            delta[i, j] = change
            if counts[i, j] + change >= 0 and closes(i, j):
                search(k + 1)
        delta[i, j] = 0

    search(0)
    return found


def _with_margins(grid: np.ndarray) -> np.ndarray:
    full = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1), dtype=np.int64)
    full[:-1, :-1] = grid
    full[:-1, -1] = grid.sum(axis=1)
    full[-1, :-1] = grid.sum(axis=0)
    full[-1, -1] = grid.sum()
    return full
