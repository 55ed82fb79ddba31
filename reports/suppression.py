"""Small-cell suppression for published count tables, with complementary suppression.

Primary suppression hides every cell with ``0 < n < threshold`` (default 10,
the most common FERPA practice), margins included: a row total of 4 is as
identifying as an inner cell of 4.  Zeros are shown: a zero names no student,
and a zero used as a complement protects nothing (see below).

Complementary suppression then hides further cells so that no hidden cell can
be worked out from what is published.  Write a two-way table with its margins
as an (R+1) x (C+1) grid whose last row and column are the totals; flipping the
sign of the margin cells (not the grand total) makes every row and every
column of the grid sum to zero.  The hidden cells are then the edges of a
bipartite graph between the grid's rows and columns, and a hidden cell is
fixed by the linear equations exactly when its edge lies on no cycle (a
*bridge*; Cox 1980, "Suppression methodology and statistical disclosure
control", JASA 75; the same argument as Gusfield's 1988 "A graph theoretic
approach to statistical data security").  So:

1. *line rule*: a row or column (margins included) with exactly one hidden
   cell gives it away; hide the smallest non-zero visible cell of that line,
   and repeat to a fixed point;
2. *bridge rule*: a hidden cell whose edge is a bridge is given away by the
   sum of several lines (e.g. two hidden cells in a line whose sum is the
   line's difference, each the only link between two blocks of hidden
   cells); hide the smallest non-zero visible cell that crosses the cut the
   bridge separates, which puts the bridge on a cycle, and go back to 1.

When no bridge is left and every hidden cell is at least 1, moving +1/-1
around a cycle through any hidden cell gives another table consistent with
everything published, so each hidden cell has at least two feasible values
(tests check this by brute force on small tables).  Zero cells are used as
complements only when no non-zero cell can do the job.

Plain data in and out (pandas), no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 10
TOTAL = "Total"

Cell = tuple[int, int]


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with its margins and which of its cells are hidden.

    `counts` holds the true values (margins included: last row and column
    named `total_label`, unless the table is one-way, then only a last row);
    `primary` marks cells hidden for being small, `suppressed` every hidden
    cell (primary and complementary).  Publish `published()` only.
    """

    counts: pd.DataFrame
    primary: pd.DataFrame
    suppressed: pd.DataFrame
    threshold: int

    def published(self) -> pd.DataFrame:
        """The counts with hidden cells as missing values (nullable integers)."""
        return self.counts.astype("Int64").mask(self.suppressed)

    @property
    def complementary(self) -> pd.DataFrame:
        return self.suppressed & ~self.primary


def suppress_table(
    counts: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD, total_label: str = TOTAL
) -> SuppressedTable:
    """Suppress a two-way table of non-negative counts published with row, column and grand
    totals (computed here from `counts`, which must not already hold them)."""
    grid = with_margins(_checked(counts, threshold), total_label)
    values = grid.to_numpy(dtype=np.int64)
    primary = (values > 0) & (values < threshold)
    hidden = _protect(values, primary.copy())
    return _result(grid, primary, hidden, threshold)


def suppress_series(
    counts: pd.Series, *, threshold: int = DEFAULT_THRESHOLD, total_label: str = TOTAL
) -> SuppressedTable:
    """Suppress a one-way table (e.g. counts by school) published with its total.

    The result has one column, the series' name (or ``count``), and a last row
    `total_label`.
    """
    frame = _checked(counts.to_frame(counts.name or "count"), threshold)
    total = pd.DataFrame({frame.columns[0]: [int(frame.iloc[:, 0].sum())]}, index=[total_label])
    grid = pd.concat([frame, total])
    values = grid.to_numpy(dtype=np.int64)
    primary = (values > 0) & (values < threshold)
    hidden = primary.copy()
    line = [(i, 0) for i in range(len(values))]
    while _line_rule(values, hidden, [line]):
        pass
    return _result(grid, primary, hidden, threshold)


def with_margins(counts: pd.DataFrame, total_label: str = TOTAL) -> pd.DataFrame:
    """`counts` with a total column and a total row (grand total in the corner)."""
    grid = counts.copy()
    grid[total_label] = grid.sum(axis=1)
    grid.loc[total_label] = grid.sum(axis=0)
    return grid.astype("int64")


# the method ---------------------------------------------------------------------
def _protect(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hide complements until no line has a single hidden cell and no hidden cell is a bridge."""
    lines = _lines(*values.shape)
    while True:
        while _line_rule(values, hidden, lines):
            pass
        bridge = _first_bridge(hidden)
        if bridge is None:
            return hidden
        _close_cycle(values, hidden, bridge)


def _lines(rows: int, columns: int) -> list[list[Cell]]:
    """Every row and column of the grid with margins: each is one published equation."""
    by_row = [[(i, j) for j in range(columns)] for i in range(rows)]
    by_column = [[(i, j) for i in range(rows)] for j in range(columns)]
    return by_row + by_column


def _line_rule(values: np.ndarray, hidden: np.ndarray, lines: list[list[Cell]]) -> bool:
    """Give each line with exactly one hidden cell a second one; True if anything changed."""
    changed = False
    for line in lines:
        if sum(hidden[cell] for cell in line) == 1:
            _hide_smallest(values, hidden, [c for c in line if not hidden[c]])
            changed = True
    return changed


def _hide_smallest(values: np.ndarray, hidden: np.ndarray, candidates: Iterable[Cell]) -> None:
    """Hide the visible candidate that loses least: the smallest non-zero one (a zero only if
    nothing else is left); ties go to the first in reading order, so results are stable."""
    pool = [c for c in candidates if not hidden[c]]
    if not pool:
        raise ValueError("no cell is left to hide as a complement")
    hidden[min(pool, key=lambda c: (values[c] == 0, values[c], c))] = True


def _first_bridge(hidden: np.ndarray) -> Cell | None:
    """The first hidden cell, in reading order, lying on no cycle of the row-column graph of
    hidden cells (None if every hidden cell is on a cycle)."""
    rows = hidden.shape[0]
    cells = _cells(hidden)
    bridges = _bridges(cells, rows)
    return min(bridges) if bridges else None


def _bridges(cells: list[Cell], rows: int) -> set[Cell]:
    """Every bridge of the bipartite graph whose edges are `cells` (rows 0..R-1, columns R..).

    Tarjan's lowpoint method, iterative so a long chain of hidden cells cannot exhaust
    the recursion limit; linear in the number of hidden cells.
    """
    neighbours: dict[int, list[tuple[int, Cell]]] = {}
    for i, j in cells:
        neighbours.setdefault(i, []).append((rows + j, (i, j)))
        neighbours.setdefault(rows + j, []).append((i, (i, j)))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    found: set[Cell] = set()
    for root in neighbours:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[int, Cell | None, Iterator[tuple[int, Cell]]]] = [
            (root, None, iter(neighbours[root]))
        ]
        while stack:
            node, via, edges = stack[-1]
            for other, edge in edges:
                if edge == via:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, edge, iter(neighbours[other])))
                    break
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent] and via is not None:
                        found.add(via)
    return found


def _cells(hidden: np.ndarray) -> list[Cell]:
    """The (row, column) of every hidden cell, in reading order."""
    return [(int(i), int(j)) for i, j in np.argwhere(hidden)]


def _reachable(cells: list[Cell], removed: Cell, rows: int) -> set[int]:
    neighbours: dict[int, list[int]] = {}
    for i, j in cells:
        if (i, j) != removed:
            neighbours.setdefault(i, []).append(rows + j)
            neighbours.setdefault(rows + j, []).append(i)
    seen, todo = {removed[0]}, [removed[0]]
    while todo:
        for node in neighbours.get(todo.pop(), []):
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return seen


def _close_cycle(values: np.ndarray, hidden: np.ndarray, bridge: Cell) -> None:
    """Hide a visible cell joining the bridge's two sides, so the bridge lies on a cycle."""
    rows, columns = hidden.shape
    cells = _cells(hidden)
    side = _reachable(cells, bridge, rows)  # the row's side of the cut
    crossing = [
        (i, j) for i in range(rows) for j in range(columns) if (i in side) != (rows + j in side)
    ]
    _hide_smallest(values, hidden, crossing)


# plumbing ---------------------------------------------------------------------
def _checked(counts: pd.DataFrame, threshold: int) -> pd.DataFrame:
    if threshold < 1:
        raise ValueError(f"the suppression threshold must be at least 1, not {threshold}")
    if counts.empty:
        raise ValueError("an empty table has nothing to suppress")
    values = counts.to_numpy()
    if not np.issubdtype(values.dtype, np.integer) or (values < 0).any():
        raise ValueError("counts must be non-negative whole numbers")
    return counts.astype("int64")


def _result(
    grid: pd.DataFrame, primary: np.ndarray, hidden: np.ndarray, threshold: int
) -> SuppressedTable:
    def frame(mask: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(mask, index=grid.index, columns=grid.columns)

    return SuppressedTable(grid, frame(primary), frame(hidden), threshold)
