"""The linker's fast paths give exactly the answers of the plain ones they replace.

Each was added for speed at a million records (`bench/linkage.py`); a fast path that
answered differently would change who is one person, so each is checked against the
plain computation on adversarial inputs: short strings over two letters (where edit
distances are subtle), non-Latin and combining characters, empty strings.
"""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pandas as pd
import pytest
from splink.internals.dialects import SplinkDialect

from linkage.rules import candidate_groups, edits
from linkage.spec import OneEditLevel, SharedItemLevel

ODD = ["", "a", "é", "é", "한국", "한굴", "Мария", "Марія", "ab", "ba", "abc", "acb", "LA1000001"]


def _strings(rng: random.Random, count: int) -> list[str]:
    alphabet = "ab" if rng.random() < 0.7 else "abcé한"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(count)]


def _pairs(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = [(a, b) for a in ODD for b in ODD]
    left, right = _strings(rng, count), _strings(rng, count)
    return pairs + list(zip(left, right, strict=True))


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance, the whole table (the textbook definition)."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[-1][-1]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_edits_cutting_common_ends_is_the_textbook_distance(limit):
    for a, b in _pairs(seed=limit, count=4000):
        assert edits(a, b, limit) == min(_osa(a, b), limit + 1), (a, b)


def _level_truth(level, pairs: list[tuple[str, str]] | list[tuple[list, list]], column: str):
    """Per pair: the level's SQL on DuckDB, as credx builds it and as Splink's own level."""
    dialect = SplinkDialect.from_string("duckdb")
    credx_sql = level.create_sql(dialect)
    splink_sql = super(type(level), level).create_sql(dialect)
    frame = pd.DataFrame(
        {f"{column}_l": [a for a, _ in pairs], f"{column}_r": [b for _, b in pairs]}
    )
    connection = duckdb.connect()
    connection.register("pairs", frame)
    return (
        connection.execute(
            f"SELECT coalesce({credx_sql}, false), coalesce({splink_sql}, false) FROM pairs"
        ).fetchall(),
        credx_sql,
        splink_sql,
    )


def test_one_edit_level_agrees_with_splinks_damerau_levenshtein_level():
    pairs = _pairs(seed=7, count=20_000)
    rows, credx_sql, splink_sql = _level_truth(OneEditLevel("first_name"), pairs, "first_name")
    assert credx_sql != splink_sql  # the guarded form is what runs on DuckDB
    assert [credx for credx, _ in rows] == [splink for _, splink in rows]
    assert sum(credx for credx, _ in rows) > 1000  # plenty of pairs one edit apart


def test_one_edit_level_is_splinks_own_sql_on_spark():
    level = OneEditLevel("state_student_id")
    spark = SplinkDialect.from_string("spark")
    assert level.create_sql(spark) == super(OneEditLevel, level).create_sql(spark)


def test_shared_item_level_agrees_with_splinks_array_intersect_level():
    rng = random.Random(11)
    lists = [None, [], ["ann"], ["ann", "anna"], ["bob"], ["anna", "bob"], ["é"]]
    pairs = [(a, b) for a in lists for b in lists]
    pairs += [(rng.choice(lists), rng.choice(lists)) for _ in range(2000)]
    rows, credx_sql, splink_sql = _level_truth(SharedItemLevel("forms"), pairs, "forms")
    assert "list_has_any" in credx_sql and credx_sql != splink_sql
    assert [credx for credx, _ in rows] == [splink for _, splink in rows]
    assert any(credx for credx, _ in rows) and not all(credx for credx, _ in rows)


def test_candidate_groups_from_codes_are_the_groups_of_the_values():
    rng = np.random.default_rng(5)
    size = 5000
    source = rng.integers(-1, 3, size)
    person = rng.integers(-1, 40, size)
    state = rng.integers(-1, 2, size)
    groups = candidate_groups(source, person, state)
    frame = pd.DataFrame({"s": source, "p": person, "t": state})
    has = (source >= 0) & (person >= 0)
    assert (groups[~has] == -1).all()
    expected = frame[has].groupby(["s", "p", "t"], sort=False).ngroup().to_numpy()
    assert (groups[has] == expected).all()
    assert groups.max() > 50  # many groups, a missing state one value among them
