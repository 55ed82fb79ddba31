"""Checking a vendor file's rows: the CPU-heavy half of ingest, runnable in a child process.

For each batch the file yields, the rows are validated against the Pandera
schema, assigned to the agreement that covers them and minimised; what fails
becomes rejection rows with the vendor's header, the value as sent and the
reason.  None of this touches the database, so for large files it runs in a
forked child process while the parent converts and writes what the child
has checked: two cores, no shared interpreter lock.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, overload

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_

from agreements.enforcement import assign_rows, minimise
from agreements.terms import Terms
from exchange.corrections import compared_columns
from exchange.current_rows import CurrentRows, kept_rows
from exchange.readers import Batch, FileRejected, NeedsExactReader, RowProblem, VendorFile
from exchange.sealed_rows import row_tokens
from schemas.columns import CANONICAL_COLUMNS
from schemas.exam_results import MISSING_VALUE, explain, typed_arrays
from schemas.values import as_arrow, as_list

DUPLICATE_ID = "repeats the vendor_record_id of an earlier row in this file"


@dataclass(frozen=True)
class CheckRules:
    """What every row is checked against: plain data, so a forked child holds it too."""

    schema: pa.DataFrameSchema
    agreements: list[Terms]
    vendor: str
    day: date
    headers: dict[str, str]  # canonical -> the vendor's own header
    delivery_id: int
    keys: Any = None  # kernel.sealing.FieldKeys: a forked child seals the rows it checked


@dataclass
class CheckedBatch:
    rows: pyarrow_.Table  # rows to load, database-ready (`ready_rows`)
    rejections: dict[str, list]  # rejected_rows columns
    total: int
    rejected: int
    dropped: set[str] = field(default_factory=set)
    tokens: list[bytes] | None = None  # the row tokens of `rows`, once sealed
    unchanged: int = 0  # valid rows a current row already holds as they are: not in `good`
    agreements: set[str] = field(default_factory=set)  # of the valid rows, unchanged ones too


def check_batches(batches: Iterator[Batch], rules: CheckRules) -> Iterator[CheckedBatch]:
    seen_ids: set[str] = set()
    for batch in _first_split(batches):
        yield ready_to_write(check_batch(batch, rules, seen_ids), rules)


def _first_split(batches: Iterator[Batch], parts: int = 5) -> Iterator[Batch]:
    """The first batch with its first fifth on its own: the writer starts on that while the
    rest is checked, instead of waiting for a whole batch (measured: the first rows reach
    the writer about 0.2 s sooner in a million-row load)."""
    first = next(batches, None)
    if first is None:
        return
    cut = len(first.frame) // parts
    if cut:
        yield Batch(first.frame.iloc[:cut], first.problems)
        yield Batch(first.frame.iloc[cut:])
    else:
        yield first
    yield from batches


def ready_to_write(checked: CheckedBatch, rules: CheckRules) -> CheckedBatch:
    """The batch with its agreements named and its valid rows sealed (`sealed`).

    The checker seals every row, so that a forked checker's writing parent only
    makes the insert columns and inserts: at a million rows, sharing the sealing
    with the parent left three threads busy on two cores, and the load took
    9.5-9.8 s with half the rows sealed by the parent, 9.1-9.5 with a quarter,
    8.9-9.5 with none (three runs each, alternated).
    """
    rows = checked.rows
    checked = replace(checked, agreements=set(rows["agreement_id"].unique().to_pylist()))
    return sealed(checked, rules)


def ready_rows(
    numbers: Any, good: Mapping[str, pyarrow_.Array], agreement_ids: pyarrow_.Array
) -> pyarrow_.Table:
    """Valid rows as the database takes them: their row number, each column typed
    (`typed_arrays`) and their agreement; Arrow, so a forked checker sends them to the
    writer without copying, and only the writer makes the Python values it inserts."""
    return pyarrow_.table({
        "row_number": pyarrow_.array(numbers, pyarrow_.int64()),
        **typed_arrays(good),
        "agreement_id": agreement_ids,
    })  # fmt: skip


def listed(rows: pyarrow_.Table, names: Iterable[str]) -> dict[str, list]:
    return {name: rows[name].to_pylist() for name in names}


def sealed(checked: CheckedBatch, rules: CheckRules) -> CheckedBatch:
    """The valid rows' student values sealed into their row tokens (`row_tokens`)."""
    if rules.keys is None or checked.tokens is not None:
        return checked
    return replace(checked, tokens=row_tokens(rules.keys, checked.rows))


def without_unchanged(checked: CheckedBatch, current: CurrentRows) -> CheckedBatch:
    """The sealed batch without the rows a current row of the vendor already holds as they
    are (a re-send): the row token tells, and the database never sees them.

    Kept apart from sealing so that a forked checker seals a re-send while the
    writing parent, which holds the current rows, compares."""
    rows = checked.rows
    # only what the comparison reads: a re-send's sealed values are compared by their token
    typed = listed(rows, ("vendor_record_id", *compared_columns()))
    tokens: list[bytes | None] = [*checked.tokens] if checked.tokens else [None] * rows.num_rows
    repeats = current.unchanged(typed["vendor_record_id"], typed, tokens)
    unchanged = sum(repeats)
    if not unchanged:
        return checked
    keep = [not repeat for repeat in repeats]
    return replace(checked, rows=rows.filter(pyarrow_.array(keep)),
                   tokens=kept_rows(tokens, keep) if checked.tokens else None,
                   unchanged=checked.unchanged + unchanged)  # fmt: skip


def check_batch(batch: Batch, rules: CheckRules, seen_ids: set[str]) -> CheckedBatch:
    failures = _failures(rules.schema, batch.frame, seen_ids)
    passed = ~batch.frame.index.isin(failures["row_number"])
    # the agreement needs two columns: the whole frame is copied once, for the rows kept
    assignment = assign_rows(
        batch.frame.loc[passed, ["state", "credential_code"]],
        rules.agreements, rules.vendor, rules.day,
    )  # fmt: skip
    kept = passed.copy()
    kept[passed] = assignment.agreement_ids.notna().to_numpy()
    # the kept rows are taken in Arrow, column by column: pandas would copy the frame twice
    mask = pyarrow_.array(kept)
    good = {name: as_arrow(batch.frame[name]).filter(mask) for name in CANONICAL_COLUMNS}
    agreement_ids = as_arrow(assignment.agreement_ids.dropna())
    dropped = minimise(good, agreement_ids, rules.agreements)
    shown = presented(pd.concat([failures, assignment.refusals]), rules.headers)
    return CheckedBatch(
        rows=ready_rows(batch.frame.index.to_numpy()[kept], good, agreement_ids),
        rejections=_rejection_columns(rules.delivery_id, shown, batch.problems, batch.frame),
        total=len(batch.frame) + len(batch.problems),
        rejected=len(batch.frame) - len(agreement_ids) + len(batch.problems),
        dropped=dropped,
    )


# checking in a forked child ----------------------------------------------------
def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def checked_in_child(
    vendor_file: VendorFile, rules: CheckRules, rows: int, exact: bool
) -> Iterator[CheckedBatch]:
    """The same batches as `check_batches`, produced by a forked child process.

    The child inherits the loaded modules and the rules, reads and checks the
    file, and sends each batch back (rows as Arrow IPC) through a pipe whose
    capacity of one message keeps memory flat.  Errors come back as the same
    exceptions; the child is stopped if the parent gives up.
    """
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_produce, args=(sender, vendor_file, rules, rows, exact), daemon=True
    )
    child.start()
    sender.close()
    try:
        while True:
            kind, *payload = pickle.loads(receiver.recv_bytes())  # noqa: S301 (our own child)
            if kind == "done":
                break
            if kind == "error":
                raise _rebuilt(*payload)
            table_bytes, rejections, total, rejected, dropped, tokens, unchanged, agreements = (
                payload
            )
            rows = pyarrow_.ipc.open_stream(table_bytes).read_all()
            yield CheckedBatch(rows, rejections, total, rejected, dropped, tokens,
                               unchanged, agreements)  # fmt: skip
    except EOFError:
        raise RuntimeError(f"the checking process ended unexpectedly ({child.exitcode})") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(sender, vendor_file: VendorFile, rules: CheckRules, rows: int, exact: bool) -> None:
    try:
        for checked in check_batches(vendor_file.batches(rows, exact=exact), rules):
            # sealing is the costliest per-value work: done here (check_batches), on the
            # second core, while the parent writes the batch before
            sink = pyarrow_.BufferOutputStream()
            with pyarrow_.ipc.new_stream(sink, checked.rows.schema) as writer:
                writer.write_table(checked.rows)
            message = ("batch", sink.getvalue().to_pybytes(), checked.rejections,
                       checked.total, checked.rejected, checked.dropped, checked.tokens,
                       checked.unchanged, checked.agreements)  # fmt: skip
            sender.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(pickle.dumps(("done",)))
    except BaseException as exc:  # the parent decides what an error means
        sender.send_bytes(pickle.dumps(("error", type(exc).__name__, str(exc))))
    finally:
        sender.close()
        os._exit(0)  # never run the parent's cleanup (its database connections) in the child


def _rebuilt(name: str, message: str) -> Exception:
    if name == NeedsExactReader.__name__:
        return NeedsExactReader(message)
    if name == FileRejected.__name__:
        return FileRejected(message)
    return RuntimeError(f"checking failed: {name}: {message}")


# failures ----------------------------------------------------------------------
def _rejection_columns(
    delivery_id: int, failures: pd.DataFrame, problems: list[RowProblem], frame: pd.DataFrame
) -> dict[str, list]:
    ids = frame["vendor_record_id"].reindex(failures["row_number"].to_numpy()).tolist()
    return {
        "delivery_id": [delivery_id] * (len(failures) + len(problems)),
        "row_number": failures["row_number"].tolist() + [p.row_number for p in problems],
        "column": failures["column"].tolist() + [None] * len(problems),
        "value": [storable(v) for v in failures["value"].tolist() + [p.value for p in problems]],
        "reason": failures["reason"].tolist() + [p.reason for p in problems],
        "vendor_record_id": [None if i is None or i != i else storable(str(i)[:200]) for i in ids]
        + [None] * len(problems),
    }


@overload
def storable(text: str) -> str: ...
@overload
def storable(text: None) -> None: ...
def storable(text: str | None) -> str | None:
    """Text as received, except NUL, which no database text column can hold: shown as \\x00."""
    return None if text is None else text.replace("\x00", "\\x00")


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame, seen_ids: set[str]) -> pd.DataFrame:
    """One row per failing cell: row_number, canonical column, value as sent, reason."""
    parts = [schema_failures(schema, frame)]
    ids = frame["vendor_record_id"]
    repeated = _repeated(ids, seen_ids)
    if repeated is not None:
        parts.append(pd.DataFrame({
            "row_number": frame.index[repeated].astype("int64"),
            "canonical": "vendor_record_id",
            "value": ids[repeated].astype(object),
            "reason": DUPLICATE_ID,
        }))  # fmt: skip
    found = pd.concat(parts, ignore_index=True)
    return found.drop_duplicates(subset=["row_number", "canonical"], keep="first")


def _repeated(ids: pd.Series, seen_ids: set[str]) -> pd.Series | None:
    """True where an id was seen in an earlier batch or earlier in this one (None if nowhere),
    and this batch's ids added to `seen_ids`.

    Repeats are rare: a batch whose ids are all distinct and all new is recognised
    with set operations alone, without a Python loop or a mask over its rows.
    """
    values = as_list(ids)
    fresh = set(values)
    fresh.discard(None)
    if len(fresh) == len(values) - values.count(None) and seen_ids.isdisjoint(fresh):
        seen_ids |= fresh
        return None
    in_earlier_batch = [value in seen_ids for value in values]  # a set beats Series.isin
    seen_ids |= fresh
    return ids.notna() & (pd.Series(in_earlier_batch, index=ids.index) | ids.duplicated())


def schema_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Pandera's failures as one row per failing cell: row_number, canonical, value, reason.

    The frame's index is the row number; shared by every file credx validates.
    A schema made only of cell checks (`cell_checks_only`) runs each of its
    Pandera checks on its column directly: the same failures, without Pandera
    building an error report per failing check of every batch, which cost as
    much as the checks themselves (measured on 50,000-row batches with 1% flawed
    rows: 150 ms a batch through `validate`, 70 ms directly).  Any other schema
    is validated by Pandera as a whole.
    """
    if not cell_checks_only(schema, frame):
        return validated_failures(schema, frame)
    parts = [_EMPTY_FAILURES]
    for name, column in schema.columns.items():
        series = frame[name]
        if not column.nullable:
            parts.append(_cell_failures(name, series, series.isna().to_numpy(), MISSING_VALUE))
        for check in column.checks:
            # the check's own function, as Pandera's backend would call it for a check that
            # is vectorised and sees nulls: the backend's machinery adds nothing here but
            # cost, and on first use it imports hypothesis (a third of a second a process)
            passed = check._check_fn(series, **check._check_kwargs)
            failed = ~np.asarray(passed, dtype=bool)
            parts.append(_cell_failures(name, series, failed, str(check.name)))
    return pd.concat([part for part in parts if len(part)] or [_EMPTY_FAILURES],
                     ignore_index=True)  # fmt: skip


def cell_checks_only(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> bool:
    """True when every rule of `schema` judges one cell at a time, on a column `frame` has:
    no dtypes, coercion, parsers, uniqueness, frame-level or grouped checks, and no check
    that Pandera would run on the non-null values only or turn into a warning."""
    if schema.checks or schema.dtype is not None or schema.coerce or schema.parsers:
        return False
    if schema.unique or schema.index is not None:
        return False
    return all(
        name in frame.columns and column.dtype is None and not column.coerce
        and not column.parsers and not column.unique and not column.regex
        and all(not (check.ignore_na or check.element_wise or check.groupby is not None
                     or check.raise_warning or check.n_failure_cases is not None)
                for check in column.checks)
        for name, column in schema.columns.items()
    )  # fmt: skip


def _cell_failures(name: str, series: pd.Series, failed, reason: str) -> pd.DataFrame:
    if not failed.any():
        return _EMPTY_FAILURES
    return pd.DataFrame({
        "row_number": series.index[failed].astype("int64"),
        "canonical": name,
        "value": series[failed].astype(object).to_numpy(),
        "reason": reason,
    })  # fmt: skip


def validated_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """`schema_failures` by Pandera's own `validate`, lazily: every failure at once."""
    parts = [_EMPTY_FAILURES]
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        unplaced = cases[cases["index"].isna()]
        if not unplaced.empty:  # a check that crashed would otherwise pass every row
            raise RuntimeError(f"schema check did not run: {unplaced.to_dict('records')}") from exc
        parts.append(pd.DataFrame({
            "row_number": cases["index"].astype("int64"),
            "canonical": cases["column"].astype(str),
            "value": cases["failure_case"].astype(object),
            "reason": cases["check"].astype(str).replace({"not_nullable": MISSING_VALUE}),
        }))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


_EMPTY_FAILURES = pd.DataFrame(
    {"row_number": pd.Series([], dtype="int64"), "canonical": [], "value": [], "reason": []}
)


def presented(found: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """Failures as the vendor reads them: their own header, the value as sent, the reason."""
    found = found.sort_values(["row_number"], kind="stable")
    sent = [None if v is None or v != v else str(v) for v in found["value"].tolist()]
    reasons = [
        explain(c, v, r)
        for c, v, r in zip(found["canonical"], sent, found["reason"].tolist(), strict=True)
    ]
    return pd.DataFrame({
        "row_number": found["row_number"].astype("int64").to_numpy(),
        "column": [headers.get(c, c) for c in found["canonical"]],
        "value": pd.Series(sent, dtype=object),
        "reason": reasons,
    })  # fmt: skip
