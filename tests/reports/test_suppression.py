"""Suppression cannot be undone: every hidden cell of small tables is checked by brute force.

`tests.reports.attacker.feasible_values` plays the attacker: it enumerates every table of
non-negative integers that agrees with everything published and collects, per hidden cell,
the values it can take.  A cell with one feasible value has been disclosed.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest

from reports.suppression import SuppressedTable, _bridges, suppress_series, suppress_table
from tests.reports.attacker import feasible_values


def table(rows: list[list[int]]) -> pd.DataFrame:
    index = [f"r{i}" for i in range(len(rows))]
    return pd.DataFrame(rows, index=index, columns=[f"c{j}" for j in range(len(rows[0]))])


def assert_protected(result: SuppressedTable) -> None:
    """Every hidden cell has more than one feasible value."""
    hidden = result.suppressed.to_numpy()
    counts = result.counts.to_numpy()
    feasible = feasible_values(result)
    for cell in zip(*np.nonzero(hidden), strict=True):
        cell = tuple(map(int, cell))
        assert counts[cell] in feasible[cell]
        assert len(feasible[cell]) > 1, f"cell {cell} = {counts[cell]} can be recovered"
    assert not (result.primary & ~result.suppressed).to_numpy().any()


def test_small_cells_are_hidden_with_complements_and_zeros_shown():
    result = suppress_table(table([[3, 40, 0], [25, 30, 12], [18, 22, 15]]))
    published = result.published()
    assert pd.isna(published.loc["r0", "c0"])  # primary: 3
    assert published.loc["r0", "c2"] == 0  # zeros are shown
    assert result.primary.to_numpy().sum() == 1
    # its row and its column each need a second hidden cell: the smallest non-zero ones
    assert pd.isna(published.loc["r0", "c1"]) and pd.isna(published.loc["r2", "c0"])
    assert result.complementary.to_numpy().sum() >= 2
    assert published.loc["Total", "Total"] == 165
    assert_protected(result)


def test_the_attacker_recovers_cells_hidden_without_complements():
    """The attack the complements stop, so the brute force above can fail: with only the
    small cells hidden, totals minus visible cells give them back."""
    protected = suppress_table(table([[3, 40], [25, 30]]))
    primary_only = SuppressedTable(
        protected.counts, protected.primary, protected.primary, protected.threshold
    )
    assert feasible_values(primary_only) == {(0, 0): {3}}


def test_the_attacker_recovers_a_cell_joining_two_blocks():
    """Two hidden cells in every line is not enough: the cell joining two blocks of hidden
    cells is the sum of one block's rows minus the sum of its columns."""
    counts = suppress_table(table([[5, 6, 40, 40], [7, 8, 4, 40], [40, 40, 5, 6], [40, 40, 7, 8]]))
    pattern = np.zeros(counts.counts.shape, dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)]:
        pattern[cell] = True
    mask = pd.DataFrame(pattern, index=counts.counts.index, columns=counts.counts.columns)
    attacked = feasible_values(SuppressedTable(counts.counts, mask, mask, 10))
    assert attacked[(1, 2)] == {4}
    assert len(attacked[(0, 0)]) > 1
    assert not counts.suppressed.iloc[:4, :4].equals(mask.iloc[:4, :4])
    assert_protected(counts)


def test_two_blocks_joined_by_one_cell_do_not_give_it_away():
    """Every line has two hidden cells, yet the cell joining two blocks is a bridge: the sum of
    one block's row equations minus its column equations recovers it."""
    counts = table([
        [1, 2, 9, 9],
        [2, 1, 1, 9],
        [9, 9, 1, 2],
        [9, 9, 2, 9],
    ])  # fmt: skip
    result = suppress_table(counts, threshold=3)
    assert_protected(result)


def test_margin_below_threshold_is_hidden_and_protected():
    result = suppress_table(table([[2, 3, 1], [20, 30, 40]]))
    assert result.suppressed.loc["r0", "Total"]  # a row total of 6 is itself a small cell
    assert_protected(result)


def test_all_small_table_hides_everything_needed():
    result = suppress_table(table([[1, 2], [3, 1]]))
    assert result.suppressed.loc["Total", "Total"]
    assert_protected(result)


def test_threshold_is_configurable():
    counts = table([[12, 40], [25, 30]])
    assert not suppress_table(counts).suppressed.to_numpy().any()
    assert suppress_table(counts, threshold=15).suppressed.loc["r0", "c0"]
    assert_protected(suppress_table(counts, threshold=15))


@pytest.mark.parametrize("seed", range(60))
def test_random_small_tables_cannot_be_undone(seed):
    rng = random.Random(seed)
    shape = rng.choice([(2, 2), (2, 3), (3, 2), (3, 3), (3, 4), (4, 4)])
    cells = [[rng.choice([0, 1, 2, 3, 5, 6, 8]) for _ in range(shape[1])]
             for _ in range(shape[0])]  # fmt: skip
    result = suppress_table(table(cells), threshold=5)
    small = ((result.counts > 0) & (result.counts < 5)).to_numpy()
    assert (result.primary.to_numpy() == small).all()
    assert_protected(result)


def test_one_way_table_hides_a_second_cell_when_one_is_small():
    result = suppress_series(pd.Series([4, 30, 25, 0], index=["a", "b", "c", "d"], name="passed"))
    published = result.published()["passed"]
    assert pd.isna(published["a"]) and pd.isna(published["c"])  # 25: smallest non-zero left
    assert published["d"] == 0 and published["Total"] == 59
    # brute force: a + c = 59 - 30 - 0, both >= 0
    options = {(a, 29 - a) for a in range(30)}
    assert len(options) > 1 and (4, 25) in options


def test_one_way_small_total_is_hidden_with_a_partner():
    result = suppress_series(pd.Series([4, 3], index=["a", "b"]))
    assert result.suppressed.to_numpy().all()


def test_one_way_two_small_cells_need_no_complement():
    result = suppress_series(pd.Series([4, 3, 50], index=["a", "b", "c"]))
    assert result.suppressed["count"].tolist() == [True, True, False, False]


@pytest.mark.parametrize("bad", [[[-1, 3]], [[1.5, 3]]])
def test_counts_must_be_whole_and_non_negative(bad):
    with pytest.raises(ValueError, match="non-negative whole"):
        suppress_table(table(bad))


def test_threshold_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        suppress_table(table([[1]]), threshold=0)


def test_every_pattern_of_a_2x3_table_is_protected():
    """Exhaustive over small values: every 2x3 table with cells in {0, 3, 12}."""
    for cells in itertools.product([0, 3, 12], repeat=6):
        result = suppress_table(table([list(cells[:3]), list(cells[3:])]))
        assert_protected(result)


def test_bridges_are_the_hidden_cells_on_no_cycle():
    # rows 0-2, columns 0-2: the 4-cycle (0,0)(0,1)(1,1)(1,0) plus a tail (1,2)(2,2)
    cells = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2)]
    assert _bridges(cells, rows=3) == {(1, 2), (2, 2)}
    assert _bridges(cells[:4], rows=3) == set()
    chain = [(i, i) for i in range(3)] + [(i + 1, i) for i in range(2)]  # a path: all bridges
    assert _bridges(chain, rows=3) == set(chain)
