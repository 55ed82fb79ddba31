"""The student-specific Splink model: comparisons, blocking rules, expert priors.

`build_settings()` is the one place the model is defined; DuckDB and Spark
both run what it returns, so a consortium that moves to Spark keeps its
model.  The m/u values are priors (what typical student records show); with
enough records they are re-estimated (u by seeded random sampling, m by EM).

Blocking works on key columns computed in Python (`add_blocking_keys`), so a
key value shared by more records than `max_block_size` can be dropped from
that rule (with a warning) before any SQL runs: a degenerate block cannot
explode into billions of pairs on either engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

# Blocking keys: name -> the normalised columns joined into the key.
BLOCKING_KEYS: dict[str, tuple[str, ...]] = {
    "bk_ssid": ("state_student_id",),
    "bk_dob_last": ("birth_date", "last_name"),
    "bk_dob_initial": ("birth_date", "first_initial"),
    "bk_first_last": ("first_name", "last_name"),
    "bk_key_last": ("first_name_key", "last_name"),
    "bk_first_district": ("first_name", "district_code"),
    "bk_last_school": ("last_name", "school_code"),
    "bk_source_person": ("source", "source_person_id"),
}
# Pairs whose first and last names are swapped: left (first, dob) meets right (last, dob).
SWAP_KEYS = ("bk_swap_a", "bk_swap_b")
TRAINING_RULES = (("bk_dob_last",), ("bk_first_last",))


def _level(sql: str, label: str, m: float, u: float, **extra: Any) -> cll.CustomLevel:
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
            cll.ArrayIntersectLevel("first_name_forms", 1).configure(
                m_probability=0.06, u_probability=0.002, label_for_charts="nickname"
            ),
            cll.JaroWinklerLevel("first_name", 0.9).configure(
                m_probability=0.05, u_probability=0.005
            ),
            cll.JaroWinklerLevel("first_name", 0.8).configure(
                m_probability=0.02, u_probability=0.02, label_for_charts="typo"
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
            cll.ArrayIntersectLevel("last_name_parts", 1).configure(
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
            cll.DamerauLevenshteinLevel("birth_date", 1).configure(
                m_probability=0.04, u_probability=0.004, label_for_charts="one digit slip"
            ),
            cll.ElseLevel().configure(m_probability=0.02, u_probability=0.995),
        ],
    )


def state_id_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="state_student_id",
        comparison_levels=[
            cll.NullLevel("state_student_id"),
            cll.ExactMatchLevel("state_student_id").configure(
                m_probability=0.9, u_probability=1e-6
            ),
            cll.DamerauLevenshteinLevel("state_student_id", 1).configure(
                m_probability=0.07, u_probability=1e-5, label_for_charts="one edit or transposition"
            ),
            cll.ElseLevel().configure(m_probability=0.03, u_probability=0.99999),
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


def _exact(column: str, m: float, u: float) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(m_probability=m, u_probability=u),
            cll.ElseLevel().configure(m_probability=1 - m, u_probability=1 - u),
        ],
    )


def blocking_rules() -> list[Any]:
    rules: list[Any] = [block_on(key) for key in BLOCKING_KEYS]
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
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=prior_match_probability,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,  # the gamma columns the clustering rules read
        max_iterations=20,
    )


def _joined(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """The columns joined into one key; missing when any part is (vectorised)."""
    key = frame[columns[0]].astype("string")
    for column in columns[1:]:
        key = key + "\x1f" + frame[column].astype("string")
    return key.astype(object).where(key.notna(), None)


def add_blocking_keys(frame: pd.DataFrame, max_block_size: int) -> list[str]:
    """Add the `bk_*` key columns; drop key values shared by too many records."""
    keys = dict(BLOCKING_KEYS)
    keys[SWAP_KEYS[0]] = ("first_name", "birth_date")
    keys[SWAP_KEYS[1]] = ("last_name", "birth_date")
    warnings = []
    for name, columns in keys.items():
        key = _joined(frame, columns)
        counts = key.value_counts(dropna=True)
        oversize = key.isin(counts.index[counts > max_block_size])
        if oversize.any():
            warnings.append(
                f"blocking rule {name.removeprefix('bk_')}: {int(oversize.sum()):,} records "
                f"share a value with more than {max_block_size:,} others; that rule skips "
                "them (raise linkage_max_block_size to compare them all)"
            )
            key = key.where(~oversize, None)
        frame[name] = key
    return warnings
