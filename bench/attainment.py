"""Attainment report: time to count and suppress a state-sized population, against a small one.

`.venv/bin/python bench/attainment.py [--students N] [--json]` builds synthetic populations
(pure data: students in schools, exam and upload events over 12 credentials) and
times `reports.attainment.publish` (counting persons into cells, suppressing
every measure's table, the long table) for a baseline of 2,000 students and for
N (default 100,000), both in this run, after a warm-up.  Suppression works on
the table (schools x credentials, its small cells), not on the students, so the
time should grow more slowly than the population: the target is that N
students take at most N / 2,000 times the baseline's time (at worst linear).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import peak_rss_mb, print_report, progress, verdict_lines  # noqa: E402
from reports import population as facts  # noqa: E402
from reports.attainment import ReportRequest, publish  # noqa: E402

CREDENTIALS = tuple(f"BENCH{n:03d}" for n in range(12))
BASELINE = 2_000


def population(students: int, seed: int = 7) -> facts.Population:
    rng = random.Random(seed)
    window = facts.Window("LA", "2025-26")
    roster = {}
    for n in range(students):
        person = f"P{n:09d}"
        roster[person] = facts.Student(
            person, f"LA{n:09d}", f"D{n % 8}", f"S{n % 60:02d}", rng.choice((2026, 2027)),
            None, rng.choice("FM"), rng.choice(("BL7", "WH7", "HI7")), rng.random() < 0.5,
            rng.random() < 0.1, rng.random() < 0.1,
        )  # fmt: skip
    found = facts.Population(window, roster)
    for person in roster:
        if rng.random() < 0.4:
            credential = rng.choice(CREDENTIALS)
            found.events.add((person, credential, facts.SAT))
            if rng.random() < 0.7:
                earned = (facts.PASSED, facts.VERIFIED, facts.CLAIMED)
                found.events.update((person, credential, e) for e in earned)
    return found


def timed(students: int) -> dict:
    data = population(students)
    request = ReportRequest("LA", "2025-26", by="school,credential")
    start = time.perf_counter()
    report = publish(data, request, None, {})
    seconds = time.perf_counter() - start
    return {"students": students, "seconds": seconds, "rows": len(report.table),
            "suppressed_cells": report.suppressed_cells,
            "us_per_student": seconds / students * 1e6}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    timed(200)  # warm-up: first calls into pandas and numpy
    progress(f"baseline: {BASELINE:,} students ...")
    base = timed(BASELINE)
    progress(f"{args.students:,} students ...")
    large = timed(args.students)
    ratio = large["seconds"] / base["seconds"]
    bound = args.students / BASELINE
    targets = {"time large / baseline": {"value": ratio, "target": f"<= {bound:,.2f}",
                                         "pass": ratio <= bound}}  # fmt: skip
    summary = {"baseline": base, "large": large, "time_ratio": ratio,
               "peak_rss_mb": peak_rss_mb(), "targets": targets}  # fmt: skip
    rows = [f"{'population':<10} {'students':>9} {'seconds':>8} {'us/student':>11} {'rows':>6} "
            f"{'hidden':>7}"]  # fmt: skip
    for name, r in (("baseline", base), ("large", large)):
        rows.append(f"{name:<10} {r['students']:>9,} {r['seconds']:>8.2f} "
                    f"{r['us_per_student']:>11.1f} {r['rows']:>6} "
                    f"{r['suppressed_cells']:>7}")  # fmt: skip
    rows += ["", f"time, large / baseline: {ratio:.2f} for {bound:,.0f}x the students; "
             f"peak RSS {summary['peak_rss_mb']:,.0f} MB", ""]  # fmt: skip
    print_report("\n".join([*rows, *verdict_lines(targets)]), summary, as_json=args.json)
    return 0 if all(t["pass"] for t in targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
