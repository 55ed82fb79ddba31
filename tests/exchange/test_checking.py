"""`check_batch` keeps its speed-ups honest: on a fuzzed file its rejections and good rows
equal what a plain reading of the contract gives.

The reference runs Pandera's own `validate` once over the whole file with every
check applied to each value on its own (so no per-distinct shortcut, Pandera's
default null handling), finds repeated ids with a loop, and decides each row's
agreement with `_decide`; `check_batches` works in small batches, so repeats across
batches and every batch boundary are exercised too.
"""

from __future__ import annotations

import random
from datetime import date

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_
import pytest

from agreements.enforcement import _decide, columns_not_permitted
from agreements.mapping import ColumnMapping
from credx.demo.data import EXAMS, ExamResultFaker, write_csv
from exchange.checking import (
    DUPLICATE_ID,
    CheckRules,
    cell_checks_only,
    check_batches,
    schema_failures,
    storable,
    validated_failures,
)
from exchange.readers import open_vendor_file
from schemas.columns import CANONICAL_COLUMNS
from schemas.exam_results import MISSING_VALUE, exam_result_schema, explain, typed_columns
from schemas.rosters import CodeSets, roster_schema
from tests.factories import blanket_terms

TODAY = date(2026, 6, 1)
HOSTILE = (
    "", " ", "=1+1", "+A", "-5", "@x", "la", "Tn", "fl", "XX", "ß", "Zoë", "O'Brien",
    "Nguyễn Thị", "a" * 70, "x" * 101, "2025-02-30", "02/29/2024", "1899-12-31",
    "2031-01-15", "13/01/2020", "12.34567", "1e5", "0", "007", "999", "1000", "85.5",
    "PASS", "passed", "ZZZZZ999", "micro001", "MICRO001", "NCCER001", "MO-110",
    "a b", "ab\tc", "日本", "O’Brien", ".", "St. John", "-", "0.0001",
)  # fmt: skip


def fuzzed_rows(count: int, seed: int) -> list[dict[str, str]]:
    """Demo rows, a third with a vendor's usual flaw, then hostile cells and repeated ids."""
    rng = random.Random(seed)
    rows = list(ExamResultFaker(seed).rows(count, flaw_rate=0.3))
    for row in rows:
        for _ in range(rng.choice((0, 0, 1, 2))):
            row[rng.choice(CANONICAL_COLUMNS)] = rng.choice(HOSTILE)
        if rng.random() < 0.05:  # an id from earlier in the file, often an earlier batch
            row["vendor_record_id"] = rows[rng.randrange(count)]["vendor_record_id"]
    return rows


def element_wise(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The same columns and checks, each check applied to every value alone."""

    def per_value(fn):
        cache: dict[str, bool] = {}

        def check(series: pd.Series) -> pd.Series:
            def verdict(value: str) -> bool:
                if value not in cache:
                    cache[value] = bool(fn(pd.Series([value], dtype=series.dtype)).iloc[0])
                return cache[value]

            return series.map(verdict).astype(bool)

        return check

    return schema.update_columns({
        name: {"checks": [pa.Check(per_value(c._check_fn), name=c.name, error=c.error)
                          for c in column.checks]}
        for name, column in schema.columns.items()
    })  # fmt: skip


def reference(frame: pd.DataFrame, rules: CheckRules) -> tuple[list[tuple], pd.DataFrame]:
    """(rejection rows in order, good rows with agreement_id) from plain code."""
    cells: dict[tuple[int, str], str] = {}  # (row, column) -> reason; the first reason wins
    try:
        element_wise(rules.schema).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for case in exc.failure_cases.itertuples():
            reason = MISSING_VALUE if case.check == "not_nullable" else case.check
            cells.setdefault((int(case.index), case.column), reason)
    columns = list(rules.schema.columns)
    order = sorted(cells, key=lambda cell: (cell[0], columns.index(cell[1])))
    found = [(number, column, cells[number, column]) for number, column in order]
    seen: set[str] = set()
    for number, value in frame["vendor_record_id"].items():
        if value is not None and value == value:
            if value in seen and (int(number), "vendor_record_id") not in cells:
                found.append((int(number), "vendor_record_id", DUPLICATE_ID))
            seen.add(value)
    found.sort(key=lambda cell: cell[0])  # a repeated id after the row's schema failures
    failed = {number for number, _, _ in found}
    good = frame[~frame.index.isin(failed)].astype(object)
    chosen = []
    for number, row in good.iterrows():
        agreement, reason = _decide(row["state"].upper(), row["credential_code"],
                                    rules.agreements, rules.vendor, rules.day)  # fmt: skip
        chosen.append(agreement or None)
        if reason:
            column = "state" if reason.startswith("state ") else "credential_code"
            found.append((int(number), column, reason))
    good = good.assign(agreement_id=chosen)
    good = good[good["agreement_id"].notna()]
    for terms in rules.agreements:
        good.loc[good["agreement_id"] == terms.id, columns_not_permitted(terms)] = None
    found.sort(key=lambda cell: cell[0])  # refusals after a row's own failures, as shown
    return [as_shown(frame, rules, *cell) for cell in found], good


def as_shown(frame: pd.DataFrame, rules: CheckRules, number: int, column: str, reason: str):
    value = frame.at[number, column]
    value = None if value is None or value != value else str(value)
    record_id = frame.at[number, "vendor_record_id"]
    return (
        number, rules.headers.get(column, column), None if value is None else storable(value),
        explain(column, value, reason),
        None if record_id is None or record_id != record_id else storable(str(record_id)[:200]),
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rejections_and_good_rows_equal_a_plain_reading(tmp_path, seed):
    path = write_csv(tmp_path / "fuzzed.csv", iter(fuzzed_rows(600, seed)))
    vendor_file = open_vendor_file(path, ColumnMapping())
    codes = sorted(EXAMS)
    agreements = [  # refusals by state and by credential, and columns to minimise
        blanket_terms("v", codes[:8], id="a-la", states=("LA",),
                      data_elements=tuple(c for c in CANONICAL_COLUMNS if c != "middle_name")),
        blanket_terms("v", codes, id="b-tn", states=("TN",),
                      data_elements=tuple(c for c in CANONICAL_COLUMNS if c != "score")),
    ]  # fmt: skip
    rules = CheckRules(
        schema=exam_result_schema(frozenset(codes), TODAY), agreements=agreements, vendor="v",
        day=TODAY, headers=vendor_file.source_header, delivery_id=1,
    )  # fmt: skip

    checked = list(check_batches(vendor_file.batches(37), rules))

    rejections = [
        row for batch in checked
        for row in zip(*(batch.rejections[c] for c in
                         ("row_number", "column", "value", "reason", "vendor_record_id")),
                       strict=True)
    ]  # fmt: skip
    frame = pd.concat(batch.frame for batch in vendor_file.batches(10_000))
    expected_rejections, expected_good = reference(frame, rules)
    assert rejections == expected_rejections
    assert {reason for *_, reason, _ in rejections} >= {DUPLICATE_ID, MISSING_VALUE}
    rows = pa_.concat_tables(batch.rows for batch in checked)
    assert rows.column_names == ["row_number", *CANONICAL_COLUMNS, "agreement_id"]
    assert rows.to_pydict() == {
        "row_number": expected_good.index.tolist(),
        **typed_columns(expected_good),
        "agreement_id": expected_good["agreement_id"].tolist(),
    }
    assert rows.num_rows + len({r[0] for r in rejections}) == 600


def hostile_frame(schema: pa.DataFrameSchema, rows: int, seed: int) -> pd.DataFrame:
    """Each of the schema's columns filled with hostile cells and missing values."""
    rng = random.Random(seed)
    cells = (*HOSTILE, None, None)
    frame = pd.DataFrame(
        {name: [rng.choice(cells) for _ in range(rows)] for name in schema.columns},
        dtype="str",
    )
    frame.index = pd.RangeIndex(2, rows + 2)  # row numbers, as the readers give them
    return frame


@pytest.mark.parametrize(
    "schema",
    [exam_result_schema(frozenset(EXAMS), TODAY), roster_schema(CodeSets(), TODAY)],
    ids=["exam_results", "rosters"],
)
def test_checks_run_directly_find_what_pandera_validate_finds(schema):
    frame = hostile_frame(schema, 400, seed=7)
    assert cell_checks_only(schema, frame)

    direct, validated = schema_failures(schema, frame), validated_failures(schema, frame)

    def cells(found: pd.DataFrame) -> list[tuple]:  # the first reason per cell, as shown
        first = found.drop_duplicates(subset=["row_number", "canonical"], keep="first")
        return sorted(zip(first["row_number"], first["canonical"], first["reason"],
                          first["value"].astype(str), strict=True))  # fmt: skip

    assert len(direct) == len(validated) > 400
    assert cells(direct) == cells(validated)


def test_a_schema_with_more_than_cell_checks_is_validated_by_pandera():
    frame = pd.DataFrame({"a": ["1", "1", "x"]}, index=pd.RangeIndex(2, 5))
    unique = pa.DataFrameSchema({"a": pa.Column(unique=True)})
    typed = pa.DataFrameSchema({"a": pa.Column(int)})
    absent = pa.DataFrameSchema({"b": pa.Column()})

    for schema in (unique, typed, absent):
        assert not cell_checks_only(schema, frame)
    assert sorted(schema_failures(unique, frame)["row_number"]) == [2, 3]
    assert schema_failures(typed, frame)["reason"].str.contains("dtype").all()
    with pytest.raises(RuntimeError, match="column_in_dataframe"):  # readers name it first
        schema_failures(absent, frame)
