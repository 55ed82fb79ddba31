"""The student-specific Splink model: comparisons, blocking rules, expert priors.

`build_settings()` is the one place the model is defined; DuckDB and Spark
both run what it returns, so a consortium that moves to Spark keeps its
model.  The m/u values are priors (what typical student records show); with
enough records they are re-estimated (u by seeded random sampling, m by EM).

Blocking works on integer key columns computed before any SQL runs
(`add_blocking_keys`), so a key value shared by more records than
`max_block_size` can be dropped from that rule (with a warning): a degenerate
block cannot explode into billions of pairs on either engine.

The rules are chosen for pairs per error process caught (measured with
`bench/linkage.py` and Splink's comparison counts): each keeps blocks small
(birth date or a name pins it down) and between them every single error
process, and most pairs of them, still meet in some block.  Broad rules such as
"birth date + first initial" or "first name + district" found few more persons
for about four times the pairs at 1,000,000 records.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator

# Blocking keys: name -> the normalised columns combined into the key.  What each catches:
# ssid - everything but an id typo; dob_last (3-letter surname prefix) - first-name errors,
# a surname typo or hyphenation after the prefix; dob_first (nickname key) - surname changes;
# key_last - birth-date errors; dob_school - both names differ; key_school_year - a
# birth-date error with a surname change; last_school - a birth-date error with a first-name
# typo; source_person - one vendor account (also deterministic).
BLOCKING_KEYS: dict[str, tuple[str, ...]] = {
    "bk_ssid": ("state_student_id",),
    "bk_dob_last": ("birth_date", "last_prefix"),
    "bk_dob_first": ("birth_date", "first_name_key"),
    "bk_key_last": ("first_name_key", "last_name"),
    "bk_dob_school": ("birth_date", "school_code"),
    "bk_key_school_year": ("first_name_key", "school_code", "birth_year"),
    "bk_last_school": ("last_name", "first_initial", "school_code"),
    "bk_source_person": ("source", "source_person_id"),
}
# Pairs whose first and last names are swapped: left (first, dob) meets right (last, dob).
SWAP_KEYS = ("bk_swap_a", "bk_swap_b")


class OneEditLevel(cll.DamerauLevenshteinLevel):
    """Damerau-Levenshtein distance <= 1, the same level as Splink's, cheaper on DuckDB.

    DuckDB's `damerau_levenshtein` fills a whole distance matrix for every pair, and most
    blocked pairs are far apart: it was a third of scoring's time at a million records.
    One edit needs lengths at most one apart, and for equal lengths at most two
    differing positions (a substitution, or a transposition of neighbours), which
    `hamming` counts in one pass; so the distance is computed only where that holds.
    A `CASE`, because DuckDB evaluates both sides of an `AND`.  Other engines get
    Splink's own SQL (Spark has no `hamming`).
    """

    def __init__(self, col_name: str):
        super().__init__(col_name, 1)

    def create_sql(self, sql_dialect: Any) -> str:
        distance = super().create_sql(sql_dialect)
        if sql_dialect.sql_dialect_str != "duckdb":
            return distance
        left, right = self.col_expression.name_l, self.col_expression.name_r
        near = (
            f"CASE WHEN length({left}) <> length({right}) "
            f"THEN abs(length({left}) - length({right})) = 1 "
            f"WHEN length({left}) = 0 THEN TRUE "  # `hamming` refuses empty strings
            f"ELSE hamming({left}, {right}) <= 2 END"
        )
        return f"CASE WHEN {near} THEN {distance} ELSE FALSE END"


class SharedItemLevel(cll.ArrayIntersectLevel):
    """The lists share at least one item: Splink's level, on DuckDB by `list_has_any`
    (the same truth, without building the intersection for every pair)."""

    def __init__(self, col_name: str):
        super().__init__(col_name, 1)

    def create_sql(self, sql_dialect: Any) -> str:
        if sql_dialect.sql_dialect_str != "duckdb":
            return super().create_sql(sql_dialect)
        self.col_expression.sql_dialect = sql_dialect
        column = self.col_expression
        return f"list_has_any({column.name_l}, {column.name_r})"


def _level(sql: str, label: str, m: float, u: float, **extra: Any) -> ComparisonLevelCreator:
    return cll.CustomLevel(sql, label, base_dialect_str="duckdb").configure(
        m_probability=m, u_probability=u, **extra
    )


def first_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True).configure(
                m_probability=0.85, u_probability=0.01
            ),
            cll.ColumnsReversedLevel("first_name", "last_name").configure(
                m_probability=0.01, u_probability=0.0001, label_for_charts="swapped with last"
            ),
            SharedItemLevel("first_name_forms").configure(
                m_probability=0.06, u_probability=0.002, label_for_charts="nickname"
            ),
            cll.JaroWinklerLevel("first_name", 0.9).configure(
                m_probability=0.05, u_probability=0.005
            ),
            cll.JaroWinklerLevel("first_name", 0.8).configure(
                m_probability=0.02, u_probability=0.02, label_for_charts="typo"
            ),
            OneEditLevel("first_name").configure(
                m_probability=0.01, u_probability=0.002, label_for_charts="one edit (short names)"
            ),
            _level(
                "first_name_l = middle_name_r OR middle_name_l = first_name_r",
                "goes by the middle name",
                0.02,
                0.001,
            ),
            _level(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) "
                "AND first_initial_l = first_initial_r",
                "initial",
                0.02,
                0.005,
            ),
            cll.ElseLevel().configure(m_probability=0.01, u_probability=0.958),
        ],
    )


def middle_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_levels=[
            cll.NullLevel("middle_name"),
            cll.ExactMatchLevel("middle_name").configure(m_probability=0.7, u_probability=0.02),
            _level(
                "substr(middle_name_l, 1, 1) = substr(middle_name_r, 1, 1)", "initial", 0.2, 0.06
            ),
            cll.ElseLevel().configure(m_probability=0.1, u_probability=0.92),
        ],
    )


def last_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name", term_frequency_adjustments=True).configure(
                m_probability=0.85, u_probability=0.005
            ),
            cll.ColumnsReversedLevel("last_name", "first_name").configure(
                m_probability=0.01, u_probability=0.0001, label_for_charts="swapped with first"
            ),
            cll.JaroWinklerLevel("last_name", 0.92).configure(
                m_probability=0.05, u_probability=0.003
            ),
            SharedItemLevel("last_name_parts").configure(
                m_probability=0.04, u_probability=0.002, label_for_charts="shares a surname part"
            ),
            cll.ElseLevel().configure(m_probability=0.05, u_probability=0.99),
        ],
    )


def birth_date_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(m_probability=0.88, u_probability=0.0003),
            _level(
                "birth_year_l = birth_year_r AND birth_month_l = birth_day_r "
                "AND birth_day_l = birth_month_r",
                "day and month swapped",
                0.03,
                0.0002,
            ),
            _level(
                "birth_month_l = birth_month_r AND birth_day_l = birth_day_r "
                "AND abs(birth_year_l - birth_year_r) = 1",
                "year off by one",
                0.03,
                0.0006,
            ),
            OneEditLevel("birth_date").configure(
                m_probability=0.04, u_probability=0.004, label_for_charts="one digit slip"
            ),
            cll.ElseLevel().configure(m_probability=0.02, u_probability=0.995),
        ],
    )


def state_id_comparison() -> cl.CustomComparison:
    """Priors for ids as schools issue them: sequentially.  One edit apart is then common
    between classmates (u 2e-3: about one pair in 500 of a school's students), so that
    level is weak evidence; and even the exact level (u 2e-5: a clerk types a sibling's
    id) weighs less (15.5 bits) than first name, surname and birth date all disagreeing
    (16.5 bits): below the training minimum no id outweighs everything else."""
    return cl.CustomComparison(
        output_column_name="state_student_id",
        comparison_levels=[
            cll.NullLevel("state_student_id"),
            cll.ExactMatchLevel("state_student_id").configure(
                m_probability=0.9, u_probability=2e-5
            ),
            # u fixed: random pairs across a state rarely fall one edit apart, classmates
            # numbered in sequence often do; sampling would learn the first, blocking meets
            # the second
            OneEditLevel("state_student_id").configure(
                m_probability=0.06,
                u_probability=2e-3,
                fix_u_probability=True,
                label_for_charts="one edit or transposition",
            ),
            cll.ElseLevel().configure(m_probability=0.04, u_probability=0.99798),
        ],
    )


def school_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="school",
        comparison_levels=[
            cll.CustomLevel(
                "school_code_l IS NULL OR school_code_r IS NULL", "null", base_dialect_str="duckdb"
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("school_code").configure(m_probability=0.7, u_probability=0.01),
            cll.ExactMatchLevel("district_code").configure(m_probability=0.2, u_probability=0.05),
            cll.ElseLevel().configure(m_probability=0.1, u_probability=0.94),
        ],
    )


def address_comparison() -> cl.CustomComparison:
    """A home address when the source has one (FEBRL-style files, some rosters): students
    move, so disagreeing says little; agreeing says much (twins and siblings share it,
    which is why no rule relies on it)."""
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(m_probability=0.6, u_probability=0.0005),
            cll.JaroWinklerLevel("address", 0.88).configure(
                m_probability=0.25, u_probability=0.003
            ),
            cll.ElseLevel().configure(m_probability=0.15, u_probability=0.9965),
        ],
    )


def _exact(column: str, m: float, u: float) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(m_probability=m, u_probability=u),
            cll.ElseLevel().configure(m_probability=1 - m, u_probability=1 - u),
        ],
    )


# key_last is there for birth-date errors; on first name and surname alone a common
# name's holders all meet (2,400 records of one name in a state: 39 million pairs at a
# million records of the held-out generator, four in five of everything scored).  A
# birth date with one error (a digit, a year off) still agrees on two of year, month and
# day, or has day and month swapped; so in a block larger than `COMMON_NAME` records
# only pairs with such near dates are compared (`bk_key_last_common`).  Small blocks
# keep every pair: where whole fields are replaced (FEBRL) a date can differ entirely.
COMMON_NAME = 50
NARROWED_KEYS = ("bk_key_last",)
NEAR_BIRTH_DATES = (
    "(l.birth_date IS NULL OR r.birth_date IS NULL"
    " OR CAST(l.birth_year = r.birth_year AS INT) + CAST(l.birth_month = r.birth_month AS INT)"
    " + CAST(l.birth_day = r.birth_day AS INT) >= 2"
    " OR (l.birth_year = r.birth_year AND l.birth_month = r.birth_day"
    " AND l.birth_day = r.birth_month))"
)


def blocking_rules() -> list[Any]:
    rules: list[Any] = [block_on(key) for key in BLOCKING_KEYS]
    rules += [f"l.{key}_common = r.{key}_common AND {NEAR_BIRTH_DATES}" for key in NARROWED_KEYS]
    rules.append(f"l.{SWAP_KEYS[0]} = r.{SWAP_KEYS[1]}")
    rules.append(f"l.{SWAP_KEYS[1]} = r.{SWAP_KEYS[0]}")
    return rules


def build_settings(*, prior_match_probability: float = 1e-4) -> SettingsCreator:
    """The Splink settings every engine runs (dedupe within one state's records)."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            first_name_comparison(),
            middle_name_comparison(),
            last_name_comparison(),
            birth_date_comparison(),
            state_id_comparison(),
            school_comparison(),
            _exact("gender", 0.95, 0.5),
            _exact("postcode", 0.6, 0.05),
            address_comparison(),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=prior_match_probability,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,  # the levels clustering reads: scoring._edges
        max_iterations=20,
    )


def _key_codes(frame: pd.DataFrame, columns: tuple[str, ...], codes: dict) -> np.ndarray:
    """One integer per distinct combination of state and `columns`, -1 when any part of
    `columns` is missing (a record without a state meets only others without one).

    Integer keys instead of joined strings: DuckDB and Spark join on them far faster,
    and building them costs one factorisation per column (`codes` caches them).
    """
    state_codes, _ = codes["state"]
    key = state_codes.astype(np.int64)  # states never link: every block lies within one
    missing = np.zeros(len(frame), dtype=bool)
    for column in columns:
        column_codes, size = codes[column]
        key = key * (size + 1) + column_codes
        missing |= column_codes < 0
    return np.where(missing, -1, key)


def _column_codes(
    frame: pd.DataFrame, known: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, tuple[np.ndarray, int]]:
    """Per column: (codes, number of distinct values); first and last name share one
    code space, so the swapped-name keys of one record can meet those of another.

    `known`: columns already factorised, (codes, distinct values) per row of `frame`;
    only codes' equality matters, so any factorisation of the same values will do."""

    def factorised(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column in known:
            return known[column]
        return pd.factorize(frame[column], use_na_sentinel=True)

    columns = {c for cols in BLOCKING_KEYS.values() for c in cols} - {"first_name", "last_name"}
    codes = {}
    for column in sorted(columns):
        column_codes, uniques = factorised(column)
        codes[column] = (column_codes, len(uniques))
    state, states = factorised("state")
    codes["state"] = (np.where(state < 0, len(states), state), len(states) + 1)  # none: a value
    (first, first_values), (last, last_values) = factorised("first_name"), factorised("last_name")
    # one code space: the two columns' distinct values factorised together (few, not rows)
    shared, uniques = pd.factorize(
        np.concatenate(
            [np.asarray(first_values, dtype=object), np.asarray(last_values, dtype=object)]
        ),
        use_na_sentinel=True,
    )
    codes["first_name"] = (np.append(shared[: len(first_values)], -1)[first], len(uniques))
    codes["last_name"] = (np.append(shared[len(first_values) :], -1)[last], len(uniques))
    return codes


def add_blocking_keys(
    frame: pd.DataFrame,
    max_block_size: int,
    known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[str]:
    """Add the `bk_*` key columns; drop key values shared by too many records.

    `known`: codes of columns already factorised (`normalise.Prepared.codes`), reused.
    """
    keys = dict(BLOCKING_KEYS)
    keys[SWAP_KEYS[0]] = ("first_name", "birth_date")
    keys[SWAP_KEYS[1]] = ("last_name", "birth_date")
    codes = _column_codes(frame, known or {})
    # the keys are counted two at a time: pandas hashes integers without the GIL
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="credx-blocking") as pool:
        counted = list(pool.map(lambda columns: _counted_key(frame, columns, codes), keys.values()))
    warnings = []
    for name, (key, sizes) in zip(keys, counted, strict=True):
        present = key >= 0
        oversize = np.zeros(len(key), dtype=bool)
        oversize[present] = sizes > max_block_size
        if oversize.any():
            warnings.append(
                f"blocking rule {name.removeprefix('bk_')}: {int(oversize.sum()):,} records "
                f"share a value with more than {max_block_size:,} others; that rule skips "
                "them (raise linkage_max_block_size to compare them all)"
            )
        values = np.where(oversize, -1, key)
        if name in NARROWED_KEYS:  # a common name's block: its own rule, near dates only
            common = np.zeros(len(key), dtype=bool)
            common[present] = sizes > COMMON_NAME
            _set_key(frame, f"{name}_common", np.where(common, values, -1))
            values = np.where(common, -1, values)
        _set_key(frame, name, values)
    return warnings


def _counted_key(
    frame: pd.DataFrame, columns: tuple[str, ...], codes: dict
) -> tuple[np.ndarray, np.ndarray]:
    """A blocking key per row (`_key_codes`), and per row that has one its block's size."""
    key = _key_codes(frame, columns, codes)
    block, _ = pd.factorize(key[key >= 0])
    return key, np.bincount(block)[block]


def _set_key(frame: pd.DataFrame, name: str, values: np.ndarray) -> None:
    frame[name] = pd.arrays.IntegerArray(values, values < 0)  # missing: in no block
