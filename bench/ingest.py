"""Ingest benchmark: credx's CSV ingest against a plain pyarrow + sqlite3 bulk load.

What is measured
----------------
1. A vendor exam-result CSV of N rows (1% flawed rows) is generated with
   `credx.demo.data.ExamResultFaker(seed).rows(N, flaw_rate=0.01)` and
   `credx.demo.data.write_csv`.  Generation time is printed but not compared.
2. **credx**: in a fresh subprocess, a new SQLite installation is set up in a temp
   home (`Settings(home=...)`, `App`, `installation.initialise`, vendor "bench"),
   then `exchange.deliveries.ingest_file(app, path, "bench", actor="bench")` is
   timed: receive (encrypt + store the original) plus parse, validate and load.
   Then the same file with 1% of rows changed (every 100th row's score) is
   ingested as a corrected re-send and timed against the first load: unchanged
   rows are recognised by `vendor_record_id` and never stored twice.
3. **baseline**: in another fresh subprocess, `pyarrow.csv.read_csv` of the same
   file (every column as a string) plus `sqlite3` `executemany` of every row into
   a bare 17-column table (no indexes, no constraints, no validation) in one
   transaction, in a file database with the pragmas credx uses
   (journal_mode=WAL, synchronous=NORMAL).

4. **credx without field encryption** ("before", issue 16): the same ingest in
   a fresh subprocess with sealing switched off (the values written as they
   are, files' keys left under the master key), so the ratio before and after
   field encryption comes from the same run.
5. **migration**: `credx.migrations.sealing.seal_existing` on that unsealed
   database, timed: what `credx init` does to an existing installation of that
   size after revision 0016 (every student value sealed in place, in batches).
6. **floor**: the database's own share of a credx load.  The file is ingested
   with the writer keeping its exam-result columns instead of inserting them
   (untimed), then only their insert into `exam_results` is timed, in one
   transaction as ingest inserts them.  No change to credx's checking or sealing can make a
   load faster than this; its ratio to the baseline is the most credx could reach.

Each phase's peak RSS is its own process's high-water mark (`getrusage(RUSAGE_SELF)`
inside the child, imports and setup included), reported back as JSON on stdout.
Throughput is rows in the file / timed seconds.  Targets (issue 18): credx throughput
at least 0.7x the baseline's, credx peak RSS below 2048 MB, the corrected re-send at
most 1.2x the first load.  The exit status is 0 whatever
the result; PASS/FAIL is printed per target.

Re-run
------
    . .venv/bin/activate
    python bench/ingest.py                  # 1,000,000 rows
    python bench/ingest.py --rows 200000    # quicker
    python bench/ingest.py --json           # JSON on stdout, the table on stderr

A single phase can be run (and profiled) against an existing CSV:

    python -m cProfile -s cumtime bench/ingest.py --phase credx --csv FILE --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `python bench/ingest.py` without an installed credx
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import (  # noqa: E402
    cpu_seconds,
    peak_rss_mb,
    print_report,
    progress,
    throwaway_database,
    verdict_lines,
)

DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20240801
FLAW_RATE = 0.01
VENDOR_ID = "bench"
TARGET_RATIO = 0.7  # issue 18
TARGET_RSS_MB = 2048.0
TARGET_RESEND = 1.2  # a corrected re-send (1% changed) against the first load, issue 18
RESEND_CHANGED_EVERY = 100
BASELINE_BATCH_ROWS = 100_000


# child phases ---------------------------------------------------------------


def bench_agreement() -> str:
    """One agreement covering every state and credential the generated rows use, so the
    benchmark measures the full path: validation, agreement assignment and minimisation."""
    from credx.demo.data import EXAMS, STATES
    from schemas.exam_results import CANONICAL_COLUMNS

    return f"""\
id: bench-all
title: Benchmark agreement
vendor: {VENDOR_ID}
states: [{", ".join(STATES)}]
effective_from: 2020-01-01
effective_to: 2099-12-31
credentials: [{", ".join(EXAMS)}]
data_elements: [{", ".join(CANONICAL_COLUMNS)}]
purpose: benchmark
ferpa_basis: audit_evaluation
retention_days_after_termination: 30
"""


def phase_credx_unsealed(
    csv_path: Path, workdir: Path, database_url: str | None = None
) -> dict[str, Any]:
    """`phase_credx` with field encryption off (the "before" of issue 16): the student values
    written as they are into their own columns, as before revision 0016, no row tokens."""
    from exchange import checking, ingest
    from exchange.vault import Vault
    from kernel import sealing

    def plain_columns(delivery_id, rows, tokens) -> dict[str, list]:
        plain = checking.listed(rows, rows.column_names)
        return {"delivery_id": [delivery_id] * rows.num_rows, **plain}

    checking.row_tokens = lambda keys, rows: [None] * rows.num_rows  # type: ignore[assignment]
    ingest._result_columns = plain_columns  # type: ignore[assignment]
    sealing.sealer = lambda keys, scope, column: lambda value: value  # type: ignore[assignment]
    Vault.bind_to_scope = lambda self, blob_id, scope: None  # type: ignore[method-assign]
    return phase_credx(csv_path, workdir, database_url)


def phase_migrate(csv_path: Path, workdir: Path, database_url: str | None = None) -> dict[str, Any]:
    """Seal the unsealed phase's database in place, as `credx init` does after 0016."""
    from credx.app import App
    from credx.migrations.sealing import seal_existing
    from kernel.settings import Settings

    app = App(Settings(home=workdir / "credx-home", database_url=database_url))
    started = time.perf_counter()
    sealed = seal_existing(app.engine, app.field_keys)
    seconds = time.perf_counter() - started
    app.engine.dispose()
    return {"seconds": seconds, "rows_sealed": sealed, "peak_rss_mb": peak_rss_mb()}


def phase_floor(csv_path: Path, workdir: Path, database_url: str | None = None) -> dict[str, Any]:
    """The insert alone of the rows a credx load writes: the load runs with its writer
    keeping its exam-result columns instead of inserting them (untimed), then those are
    inserted in one transaction as the writer inserts them, timed."""
    from exchange import ingest
    from exchange.bulk import insert_columns, wal_synced_ahead
    from exchange.deliveries import ingest_file
    from exchange.models import ExamResult
    from kernel.rows import table_of

    app = bench_installation(workdir, database_url)
    kept: list[dict[str, list]] = []

    def keep(connection, keys, delivery_id, results, rejections) -> None:
        kept.append(results)

    ingest._write = keep  # type: ignore[assignment]
    ingest_file(app, csv_path, VENDOR_ID, actor="bench")
    started = time.perf_counter()
    with app.engine.begin() as connection, wal_synced_ahead(connection):
        loaded = sum(insert_columns(connection, table_of(ExamResult), c) for c in kept)
    seconds = time.perf_counter() - started
    app.engine.dispose()
    return {"seconds": seconds, "rows_loaded": loaded, "peak_rss_mb": peak_rss_mb()}


def bench_installation(workdir: Path, database_url: str | None) -> Any:
    """A fresh installation (SQLite, or the given empty database) with the bench vendor and
    its agreement: a `credx.app.App`."""
    from agreements.documents import apply_document
    from agreements.vendors import add_vendor
    from credx.app import App
    from credx.installation import initialise
    from kernel.database import session_scope
    from kernel.settings import Settings

    app = App(Settings(home=workdir / "credx-home", database_url=database_url))
    initialise(app)
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id=VENDOR_ID, name="Bench")
        apply_document(session, bench_agreement(), "bench agreement", "bench")
    return app


def phase_credx(csv_path: Path, workdir: Path, database_url: str | None = None) -> dict[str, Any]:
    """Fresh installation (SQLite, or the given empty database), one vendor, then the timed
    `ingest_file`."""
    started = time.perf_counter()
    from exchange.deliveries import ingest_file

    app = bench_installation(workdir, database_url)
    setup_seconds = time.perf_counter() - started

    started, cpu = time.perf_counter(), cpu_seconds()
    outcome = ingest_file(app, csv_path, VENDOR_ID, actor="bench")
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    resend = csv_path.with_name("corrected.csv")
    started, resend_cpu = time.perf_counter(), cpu_seconds()
    corrected = ingest_file(app, resend, VENDOR_ID, actor="bench")
    resend_seconds, resend_cpu = time.perf_counter() - started, cpu_seconds() - resend_cpu
    app.engine.dispose()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "resend_seconds": resend_seconds,
        "resend_cpu_seconds": resend_cpu,
        "resend": {
            k: getattr(corrected, k)
            for k in (
                "rows_total",
                "rows_loaded",
                "rows_rejected",
                "rows_superseded",
                "rows_unchanged",
            )
        },
        "setup_seconds": setup_seconds,
        "status": outcome.status,
        "rows_total": outcome.rows_total,
        "rows_loaded": outcome.rows_loaded,
        "rows_rejected": outcome.rows_rejected,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_baseline(
    csv_path: Path, workdir: Path, database_url: str | None = None
) -> dict[str, Any]:
    """pyarrow read_csv (all strings) + one-transaction executemany into a bare table
    (on PostgreSQL: psycopg's COPY instead of executemany)."""
    import csv
    import sqlite3

    # the file's own header (the 17 canonical columns), without importing credx/pandas
    with open(csv_path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    if database_url:
        return _baseline_copy(csv_path, header, database_url)
    db_path = workdir / "baseline.db"
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f'"{c}" TEXT' for c in header)
    connection.execute(f"CREATE TABLE exam_results ({columns})")
    insert = (
        f"INSERT INTO exam_results ({', '.join(header)}) VALUES ({', '.join('?' for _ in header)})"
    )

    started, cpu = time.perf_counter(), cpu_seconds()
    table = _read_all_text(csv_path, header)
    read_seconds = time.perf_counter() - started
    connection.execute("BEGIN")
    for batch in table.to_batches(max_chunksize=BASELINE_BATCH_ROWS):
        connection.executemany(insert, zip(*(c.to_pylist() for c in batch.columns), strict=True))
    connection.execute("COMMIT")
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu

    (loaded,) = connection.execute("SELECT count(*) FROM exam_results").fetchone()
    connection.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "read_seconds": read_seconds,
        "rows_total": table.num_rows,
        "rows_loaded": loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


def _read_all_text(csv_path: Path, header: list[str]) -> Any:
    """The whole file as an Arrow table, every column a string (the baseline's parse)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {name: pa.string() for name in header}
    return pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types=types))


def _baseline_copy(csv_path: Path, header: list[str], database_url: str) -> dict[str, Any]:
    """The PostgreSQL baseline: read_csv, then psycopg's COPY of every row into a bare table
    (no indexes, no constraints, no validation), one transaction."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    names = ", ".join(f'"{c}"' for c in header)
    columns = ", ".join(f'"{c}" TEXT' for c in header)
    with psycopg.connect(url) as connection:
        connection.execute(f"CREATE TABLE exam_results ({columns})")
        connection.commit()
        started, cpu = time.perf_counter(), cpu_seconds()
        table = _read_all_text(csv_path, header)
        read_seconds = time.perf_counter() - started
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY exam_results ({names}) FROM STDIN") as copy,
        ):
            for batch in table.to_batches(max_chunksize=BASELINE_BATCH_ROWS):
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)
        connection.commit()
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        row = connection.execute("SELECT count(*) FROM exam_results").fetchone()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "read_seconds": read_seconds,
        "rows_total": table.num_rows,
        "rows_loaded": row[0] if row else 0,
        "peak_rss_mb": peak_rss_mb(),
    }


PHASES = {
    "credx": phase_credx,
    "baseline": phase_baseline,
    "credx_unsealed": phase_credx_unsealed,
    "migrate": phase_migrate,
    "floor": phase_floor,
}


# parent ---------------------------------------------------------------------
def child_env(workdir: Path) -> dict[str, str]:
    """The caller's environment without CREDX_* settings, so no real installation is touched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDX_")}
    env["CREDX_HOME"] = str(workdir / "credx-home")  # where Settings looks for credx.toml
    return env


def run_phase(
    name: str, csv_path: Path, workdir: Path, database_url: str | None = None,
    script: Path = Path(__file__),
) -> dict[str, Any]:  # fmt: skip
    """Run one phase of `script` (this benchmark, or another with the same `--phase` options)
    in a fresh interpreter; its last stdout line is the JSON result."""
    command = [
        sys.executable, str(script.resolve()), "--phase", name,
        "--csv", str(csv_path), "--workdir", str(workdir),
        *(["--database-url", database_url] if database_url else []),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=child_env(workdir), check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {name} phase failed with exit status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_corrected(original: Path, corrected: Path) -> int:
    """The same file with every 100th row's score changed (a vendor's corrected re-send)."""
    import csv

    changed = 0
    with (
        open(original, newline="", encoding="utf-8") as source,
        open(corrected, "w", newline="", encoding="utf-8") as target,
    ):
        reader, writer = csv.reader(source), csv.writer(target, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        score = header.index("score")
        for number, row in enumerate(reader, start=1):
            if number % RESEND_CHANGED_EVERY == 0 and row[score].isdigit():
                row[score] = str(int(row[score]) + 1)
                changed += 1
            writer.writerow(row)
    return changed


def summarise(
    rows: int, generate_seconds: float, runs: list[dict],
    unsealed: dict | None = None, migrate: dict | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Figures of every run; the targets are judged on the run with the median ratio."""
    for run in runs:
        for result in (run["credx"], run["baseline"]):
            result["rows_per_second"] = rows / result["seconds"] if result["seconds"] else 0.0
        credx, baseline = run["credx"], run["baseline"]
        run["ratio"] = credx["rows_per_second"] / baseline["rows_per_second"]
        run["resend_ratio"] = credx["resend_seconds"] / credx["seconds"]
    median = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
    credx, baseline = median["credx"], median["baseline"]
    ratio, resend_ratio = median["ratio"], median["resend_ratio"]
    if unsealed:
        unsealed["rows_per_second"] = rows / unsealed["seconds"] if unsealed["seconds"] else 0.0
    return {
        "rows": rows,
        "runs": [_run_figures(run) for run in runs],
        "flaw_rate": FLAW_RATE,
        "resend_ratio": resend_ratio,
        "generate_seconds": generate_seconds,
        "credx": credx,
        "baseline": baseline,
        "throughput_ratio": ratio,
        "unsealed": unsealed,
        "throughput_ratio_unsealed": (
            unsealed["rows_per_second"] / baseline["rows_per_second"]
            if unsealed and baseline["rows_per_second"]
            else None
        ),
        "migration": migrate,
        "targets": {
            "throughput_ratio": {
                "target": f">= {TARGET_RATIO}",
                "value": ratio,
                "pass": ratio >= TARGET_RATIO,
            },
            "credx_peak_rss_mb": {
                "target": f"< {TARGET_RSS_MB:.0f}",
                "value": credx["peak_rss_mb"],
                "pass": credx["peak_rss_mb"] < TARGET_RSS_MB,
            },
            "corrected_resend_vs_first_load": {
                "target": f"<= {TARGET_RESEND}",
                "value": resend_ratio,
                "pass": resend_ratio <= TARGET_RESEND,
            },
        },
    }


def _run_figures(run: dict[str, Any]) -> dict[str, Any]:
    credx = run["credx"]
    return {
        "load_average": run["load_average"],
        "ratio": run["ratio"],
        "resend_ratio": run["resend_ratio"],
        "credx_seconds": credx["seconds"],
        "credx_resend_seconds": credx["resend_seconds"],
        "baseline_seconds": run["baseline"]["seconds"],
        "credx_cpu_seconds": credx["cpu_seconds"],
        "baseline_cpu_seconds": run["baseline"]["cpu_seconds"],
        "cpu_ratio": run["baseline"]["cpu_seconds"] / credx["cpu_seconds"],
        "credx_peak_rss_mb": credx["peak_rss_mb"],
    }


def render_table(summary: dict[str, Any]) -> str:
    credx, baseline = summary["credx"], summary["baseline"]
    lines = [
        f"database: {summary['database']}",
        *(
            f"run {n}: credx {run['credx_seconds']:.2f} s / baseline {run['baseline_seconds']:.2f}"
            f" s, ratio {run['ratio']:.2f} (CPU seconds {run['credx_cpu_seconds']:.1f} / "
            f"{run['baseline_cpu_seconds']:.1f}: {run['cpu_ratio']:.2f}), "
            f"re-send / first load {run['resend_ratio']:.2f}, "
            f"peak {run['credx_peak_rss_mb']:,.0f} MB, load average {run['load_average']:.1f}"
            for n, run in enumerate(summary["runs"], start=1)
        ),
        "the median run:",
        f"{'phase':<10} {'rows':>10} {'seconds':>9} {'rows/s':>11} {'peak RSS MB':>12}",
        *(
            f"{name:<10} {result['rows_total']:>10,} {result['seconds']:>9.2f} "
            f"{result['rows_per_second']:>11,.0f} {result['peak_rss_mb']:>12,.0f}"
            for name, result in (("credx", credx), ("baseline", baseline))
        ),
        "",
        f"credx: {credx['status']}, {credx['rows_loaded']:,} loaded, "
        f"{credx['rows_rejected']:,} rejected (setup {credx['setup_seconds']:.2f} s, untimed)",
        f"baseline: read_csv {baseline['read_seconds']:.2f} s of {baseline['seconds']:.2f} s",
        f"corrected re-send (1% changed): {credx['resend_seconds']:.2f} s, "
        f"{credx['resend']['rows_superseded']:,} superseded, "
        f"{credx['resend']['rows_unchanged']:,} unchanged",
        f"generation of the CSV: {summary['generate_seconds']:.2f} s (not compared)",
    ]
    if summary.get("unsealed"):
        unsealed = summary["unsealed"]
        lines += [
            f"without field encryption (before): {unsealed['seconds']:.2f} s "
            f"(CPU {unsealed['cpu_seconds']:.1f} s), "
            f"{unsealed['rows_per_second']:,.0f} rows/s, ratio "
            f"{summary['throughput_ratio_unsealed']:.2f} (with: {summary['throughput_ratio']:.2f})",
        ]
    if summary.get("migration"):
        migrate = summary["migration"]
        lines += [
            f"migration (seal that database in place): {migrate['seconds']:.2f} s, "
            f"{sum(migrate['rows_sealed'].values()):,} rows sealed",
        ]
    if summary.get("floor"):
        lines += [
            f"floor (the insert alone of rows checked and sealed beforehand): "
            f"{summary['floor']['seconds']:.2f} s, ratio {summary['throughput_ratio_floor']:.2f}: "
            "the most any credx load could reach",
        ]
    lines.append("")
    return "\n".join([*lines, *verdict_lines(summary["targets"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the CSV")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="faker seed")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test): "
        "each phase runs in a throwaway database created there, and the baseline uses COPY",
    )
    parser.add_argument("--runs", type=int, default=1, help="credx + baseline runs (each reported)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        if args.csv is None or args.workdir is None:
            parser.error("--phase needs --csv and --workdir")
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = PHASES[args.phase](args.csv.resolve(), args.workdir.resolve(), args.database_url)
        print(json.dumps(result))
        return 0

    from credx.demo.data import ExamResultFaker, write_csv

    with tempfile.TemporaryDirectory(prefix="credx-bench-") as tmp:
        root = Path(tmp)
        csv_path = root / "exam_results.csv"
        progress(f"generating {args.rows:,} rows ...")
        started = time.perf_counter()
        write_csv(csv_path, ExamResultFaker(args.seed).rows(args.rows, flaw_rate=FLAW_RATE))
        generate_seconds = time.perf_counter() - started
        progress(f"generated {csv_path.stat().st_size / 1e6:,.1f} MB in {generate_seconds:.2f} s")
        write_corrected(csv_path, root / "corrected.csv")

        with ExitStack() as databases:

            def database(phase: str, run: int) -> str | None:
                """A throwaway PostgreSQL database per phase and run, dropped at the end."""
                if not args.database_url:
                    return None
                name = f"credx_bench_ingest_{phase}_{run}_{os.getpid()}"
                return databases.enter_context(throwaway_database(args.database_url, name))

            runs = []
            for run in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                progress(f"run {run}: credx ingest (load average {load:.1f}) ...")
                credx = run_phase("credx", csv_path, root / f"credx{run}", database("credx", run))
                progress(f"credx ingest: {credx['seconds']:.2f} s; baseline ...")
                baseline = run_phase(
                    "baseline", csv_path, root / f"baseline{run}", database("baseline", run)
                )
                progress(f"baseline: {baseline['seconds']:.2f} s")
                runs.append({"load_average": load, "credx": credx, "baseline": baseline})
                shutil.rmtree(root / f"credx{run}", ignore_errors=True)
                shutil.rmtree(root / f"baseline{run}", ignore_errors=True)
            progress("credx ingest without field encryption ...")
            unsealed_url = database("unsealed", 0)
            unsealed = run_phase("credx_unsealed", csv_path, root / "unsealed", unsealed_url)
            progress(f"unsealed: {unsealed['seconds']:.2f} s; sealing that database in place ...")
            migrate = run_phase("migrate", csv_path, root / "unsealed", unsealed_url)
            progress(f"migration: {migrate['seconds']:.2f} s; the database's floor ...")
            floor = run_phase("floor", csv_path, root / "floor", database("floor", 0))
            progress(f"floor: {floor['seconds']:.2f} s")

    summary = summarise(args.rows, generate_seconds, runs, unsealed, migrate)
    summary["floor"] = floor
    summary["throughput_ratio_floor"] = summary["baseline"]["seconds"] / floor["seconds"]
    summary["database"] = "postgresql (COPY baseline)" if args.database_url else "sqlite"
    print_report(render_table(summary), summary, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
