"""Sealed-row storage benchmark: what sealing and writing cost per row layout, against the
ingest baseline's insert of the same rows in plain text.

Why it exists
-------------
`bench/ingest.py` compares a whole ingest (read, validate, seal, write) with a bare
plaintext load.  Issues 16 and 18 ask for 0.5x and 0.7x of that baseline, and
the question behind both is how much of the gap the *stored form* of a row
costs, whatever the rest of the pipeline does.  This measures the floor: the
sealing CPU and the insert alone, for

- ``per_value``: the layout before revision 0025, each of the six student
  values its own AES-GCM token (`kernel.sealing.sealer`, the `s1.` tokens rosters
  still use) plus a keyed digest of the row (a blind index of its values), which
  is how a re-sent row was recognised, in the six sealed columns and `sealed_digest`;
- ``per_row``: credx's layout since revision 0025, one deterministic AES-SIV
  row token (`kernel.sealing.seal_rows`, as `exchange.sealed_rows.row_tokens`
  makes them) in `sealed_row`, the six columns left NULL.  Deterministic
  sealing tells an unchanged re-sent row by its token, so it needs no digest.

What is measured
----------------
A vendor CSV of N valid rows (the `bench/ingest.py` generator and seed, no flaws)
is read and typed as ingest does (`open_vendor_file`, `typed_columns`), untimed.
Then, each layout in a fresh process: sealing (CPU seconds), and the insert of
every row through credx's bulk path (`exchange.bulk.insert_columns`, one
transaction, the table's primary key and its `vendor_record_id` index, the
pragmas credx uses), in wall seconds with the commit.  The baseline phase is
`bench/ingest.py`'s own (pyarrow read plus `executemany` into a bare table)
in the same run.  Ratios are baseline seconds / layout seconds, as in
`bench/ingest.py`: the insert alone, then the insert plus sealing as if the
sealing ran on the other core.

Re-run
------
    . .venv/bin/activate
    python bench/sealed_rows.py                 # 1,000,000 rows, 3 runs
    python bench/sealed_rows.py --rows 200000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `python bench/sealed_rows.py` without an installed credx
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import cpu_seconds, print_report, progress  # noqa: E402
from bench.ingest import DEFAULT_SEED, run_phase  # noqa: E402

DEFAULT_ROWS = 1_000_000
LAYOUTS = ("per_value", "per_row")
SEPARATOR = "\x1f"  # ASCII unit separator, between a row's values in its digest


def typed_rows(csv_path: Path) -> dict[str, list]:
    """The file's rows as ingest writes them: typed columns plus the row's key columns."""
    from agreements.mapping import ColumnMapping
    from exchange.readers import open_vendor_file
    from schemas.exam_results import typed_columns

    data: dict[str, list] = {}
    for batch in open_vendor_file(csv_path, ColumnMapping()).batches(100_000):
        for name, values in typed_columns(batch.frame).items():
            data.setdefault(name, []).extend(values)
    rows = len(data["vendor_record_id"])
    return {"delivery_id": [1] * rows, "row_number": list(range(1, rows + 1)),
            "agreement_id": ["bench-all"] * rows, **data}  # fmt: skip


def exam_results_table() -> Any:
    """`exam_results` as credx defines it (both layouts fit it: what a layout does not fill
    stays NULL), foreign keys left out (they name tables this file does not hold)."""
    import sqlalchemy as sa

    from exchange.models import ExamResult

    columns = [
        sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                  autoincrement=False)
        for c in ExamResult.__table__.columns  # type: ignore[attr-defined]
    ]  # fmt: skip
    table = sa.Table("exam_results", sa.MetaData(), *columns, sqlite_with_rowid=False)
    sa.Index("ix_exam_results_vendor_record_id", table.c.vendor_record_id)
    return table


def phase_layout(layout: str, csv_path: Path, workdir: Path) -> dict[str, Any]:
    """Seal (CPU timed) and insert (wall timed, with the commit) every row in `layout`."""
    from credx.app import App
    from credx.installation import initialise
    from exchange.bulk import insert_columns
    from exchange.models import ExamResult, exam_scope
    from exchange.sealed_rows import row_tokens
    from kernel import sealing
    from kernel.database import create_db_engine
    from kernel.settings import Settings

    data = typed_rows(csv_path)
    app = App(Settings(home=workdir / "credx-home"))
    initialise(app)  # master key and field-key store, as an installation has them
    keys = app.field_keys
    keys.key_for(exam_scope("bench-all", ""))  # made once, before the timing

    import pyarrow as pa

    sealed_columns = (*ExamResult.__sealed__, "vendor_record_id", "state", "agreement_id")
    rows = pa.table({name: data[name] for name in sealed_columns})  # as ingest's checker has them
    started = cpu_seconds()
    if layout == "per_value":
        scope, plain = exam_scope("bench-all", ""), [data[c] for c in ExamResult.__sealed__]
        joined = map(SEPARATOR.join, zip(*(map(str, values) for values in plain), strict=True))
        data["sealed_digest"] = keys.blind_indexes(list(joined))
        for column in ExamResult.__sealed__:
            data[column] = list(map(sealing.sealer(keys, scope, column), data[column]))
    else:
        data["sealed_row"] = row_tokens(keys, rows)
        for column in ExamResult.__sealed__:
            del data[column]
    seal_cpu = cpu_seconds() - started

    engine = create_db_engine(f"sqlite:///{workdir / f'{layout}.db'}")
    table = exam_results_table()
    table.metadata.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        insert_columns(connection, table, data)
    insert_seconds = time.perf_counter() - started
    size = os.path.getsize(workdir / f"{layout}.db")
    engine.dispose()
    return {"seal_cpu_seconds": seal_cpu, "insert_seconds": insert_seconds,
            "database_mb": size / 1e6, "rows": len(data["vendor_record_id"])}  # fmt: skip


def render_table(summary: dict[str, Any]) -> str:
    lines = [f"{summary['rows']:,} rows; ratios are baseline seconds / layout seconds"]
    for number, run in enumerate(summary["runs"], start=1):
        lines.append(f"run {number}: baseline (read + executemany) {run['baseline']:.2f} s")
        for layout in LAYOUTS:
            figures = run[layout]
            lines.append(
                f"  {layout:<9} seal {figures['seal_cpu_seconds']:5.2f} CPU s, insert "
                f"{figures['insert_seconds']:5.2f} s ({figures['database_mb']:,.0f} MB): ratio "
                f"{figures['insert_ratio']:.2f} insert alone, "
                f"{figures['two_core_ratio']:.2f} with sealing on the other core"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs of every phase (each reported)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--phase", choices=LAYOUTS, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(phase_layout(args.phase, args.csv, args.workdir)))
        return 0

    from credx.demo.data import ExamResultFaker, write_csv

    with tempfile.TemporaryDirectory(prefix="credx-bench-") as tmp:
        root = Path(tmp)
        csv_path = root / "exam_results.csv"
        progress(f"generating {args.rows:,} rows ...")
        write_csv(csv_path, ExamResultFaker(DEFAULT_SEED).rows(args.rows, flaw_rate=0.0))
        runs = []
        for run in range(1, args.runs + 1):
            baseline = run_phase("baseline", csv_path, root / f"baseline{run}")["seconds"]
            figures: dict[str, Any] = {"baseline": baseline}
            for layout in LAYOUTS:
                progress(f"run {run}: {layout} ...")
                result = run_phase(layout, csv_path, root / f"{layout}{run}",
                                   script=Path(__file__))  # fmt: skip
                result["insert_ratio"] = baseline / result["insert_seconds"]
                longer = max(result["insert_seconds"], result["seal_cpu_seconds"])
                result["two_core_ratio"] = baseline / longer
                figures[layout] = result
            runs.append(figures)
    summary = {"rows": args.rows, "runs": runs}
    print_report(render_table(summary), summary, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
