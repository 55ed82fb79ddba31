"""Row-checking benchmark: CPU seconds of `exchange.checking.check_batch` per file.

What is measured
----------------
A vendor exam-result CSV of N rows (1% flawed rows, the same generator and seed
as `bench/ingest.py`) is read into batches with `exchange.readers.open_vendor_file`
(reading is timed apart), then every batch goes through `check_batch` with the
rules ingest uses: the Pandera schema, one agreement covering every state and
credential the rows use (`bench.ingest.bench_agreement`), the duplicate-id check,
assignment, minimisation and the rejection rows.  CPU seconds (user + system of
this process) are summed over the `check_batch` calls only, and the batches are
checked `--repeat` times: the least is reported (the machine is shared; the
others are printed too), wall seconds beside it.  This is the part of ingest
that runs in the forked child before it seals the rows
(`exchange.checking.ready_to_write`): at a million rows the child is the busier
of the two processes, so a cut here shortens ingest.

The digest is a sha256 over every rejection column and every good row, so two
runs of different code on the same file can be compared for identical output.

Re-run
------
    . .venv/bin/activate
    nice python bench/checking.py --rows 1000000          # a million rows
    python bench/checking.py --rows 200000 --profile 25  # the 25 costliest calls
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.ingest import DEFAULT_SEED, FLAW_RATE, VENDOR_ID, bench_agreement  # noqa: E402

BATCH_ROWS = 100_000  # exchange.ingest.Ingestor's default


def vendor_csv(rows: int, directory: Path) -> Path:
    """The generated file, made once per row count and kept for re-runs."""
    from credx.demo.data import ExamResultFaker, write_csv

    path = directory / f"credx-checking-{rows}-{DEFAULT_SEED}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_csv(partial, ExamResultFaker(DEFAULT_SEED).rows(rows, flaw_rate=FLAW_RATE))
        partial.rename(path)
    return path


def bench_rules(vendor_file):
    import yaml

    from agreements.documents import RENAMED
    from agreements.terms import Terms
    from credx.demo.data import EXAMS
    from exchange.checking import CheckRules
    from schemas.exam_results import exam_result_schema

    # the agreement bench/ingest.py applies, read without a database
    terms = Terms(**{RENAMED.get(k, k): v for k, v in yaml.safe_load(bench_agreement()).items()})
    today = date(2026, 6, 1)
    return CheckRules(
        schema=exam_result_schema(frozenset(EXAMS), today), agreements=[terms],
        vendor=VENDOR_ID, day=today, headers=vendor_file.source_header, delivery_id=1,
    )  # fmt: skip


def digest(checked) -> str:
    """sha256 of the rejections and the good rows, in order, so runs can be compared."""
    sha = hashlib.sha256()
    for batch in checked:
        for name in sorted(batch.rejections):
            sha.update(repr((name, batch.rejections[name])).encode())
        for name in batch.rows.column_names:
            sha.update(repr((name, batch.rows[name].to_pylist())).encode())
        sha.update(repr((batch.total, batch.rejected, sorted(batch.dropped))).encode())
    return sha.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=3, help="check the batches this often")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest calls")
    args = parser.parse_args()

    from agreements.mapping import ColumnMapping
    from exchange.checking import check_batch
    from exchange.readers import open_vendor_file

    path = vendor_csv(args.rows, args.workdir)
    vendor_file = open_vendor_file(path, ColumnMapping())
    rules = bench_rules(vendor_file)
    started_cpu, started = time.process_time(), time.perf_counter()
    batches = list(vendor_file.batches(args.batch_rows))
    read_cpu, read_wall = time.process_time() - started_cpu, time.perf_counter() - started

    profiler = cProfile.Profile() if args.profile else None
    runs: list[tuple[float, float]] = []
    for _ in range(max(args.repeat, 1)):
        seen_ids: set[str] = set()
        started_cpu, started = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        checked = [check_batch(batch, rules, seen_ids) for batch in batches]
        if profiler:
            profiler.disable()
        runs.append((time.process_time() - started_cpu, time.perf_counter() - started))
    check_cpu, check_wall = min(runs)
    rejected = sum(b.rejected for b in checked)
    per_million = 1_000_000 / args.rows
    print(f"rows {args.rows:,} in batches of {args.batch_rows:,}; rejected rows {rejected:,}")
    print(f"read:        {read_cpu:6.2f} s CPU  {read_wall:6.2f} s wall")
    print(f"check_batch: {check_cpu:6.2f} s CPU  {check_wall:6.2f} s wall  "
          f"({check_cpu * per_million:.2f} s CPU per 1M rows; least of {len(runs)} runs: "
          f"{', '.join(f'{cpu:.2f}' for cpu, _ in runs)})")  # fmt: skip
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"digest: {digest(checked)}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
