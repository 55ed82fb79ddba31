"""What every benchmark shares: memory measurement, progress, and the PASS/FAIL lines."""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def peak_rss_mb() -> float:
    """Peak resident set size in MB of this process plus the largest of its children.

    credx checks large files in a forked child while the parent writes, so both
    peaks are added: an upper bound on what was held at once.  (ru_maxrss is
    KiB on Linux, bytes on macOS.)
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its reaped children so far.

    On a shared machine wall time depends on the neighbours; CPU time mostly does not,
    so benchmarks report both."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verdict_lines(targets: dict[str, dict]) -> list[str]:
    """One `PASS|FAIL  name = value (target ...)` line per target.

    A target may carry `format` (default `,.2f`), e.g. `.4f` for an F1 score."""
    return [
        f"{'PASS' if t['pass'] else 'FAIL'}  {name} = "
        f"{t['value']:{t.get('format', ',.2f')}} (target {t['target']})"
        for name, t in targets.items()
    ]


def print_report(table: str, summary: dict, *, as_json: bool) -> None:
    """The table for people; with `--json` the summary on stdout and the table on stderr."""
    if as_json:
        print(table, file=sys.stderr)
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(table)


@contextmanager
def throwaway_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on `server_url`'s server; yields its URL, drops it after.

    Benchmarks never write into a database someone uses: each run gets its own.
    """
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
