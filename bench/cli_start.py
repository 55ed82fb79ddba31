"""CLI start-up benchmark: how long `credx --help` and `credx version` take to start.

What is measured
----------------
Three commands, each a fresh process started by this script: `python -c pass`
(the venv's interpreter: the floor any Python program pays), `credx --help` and
`credx version` (the installed console script).  They run N times each,
interleaved (one of each per round), so a busy moment on a shared machine slows
all three alike.  For each: the median wall time, the median CPU time of the
child (user + system: what an idle machine's wall time would be), and the ratio
of its median wall time to `python -c pass` measured in the same run.

Target: `credx --help` and `credx version` under 0.5 s wall on an idle 2-core
machine (PASS/FAIL per target; exit status 0 whatever the result).  The machine's
load average at start and end is recorded with the figures.

Writes the run to `bench/results/cli_start.json` (benchmark, measured_at,
machine, command, figures), from which the manual's benchmarks page is made.

Re-run
------
    .venv/bin/python bench/cli_start.py              # 20 rounds
    .venv/bin/python bench/cli_start.py --runs 50
    .venv/bin/python bench/cli_start.py --json       # figures on stdout, table on stderr
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import print_report, progress, verdict_lines  # noqa: E402

RESULT = PROJECT_ROOT / "bench" / "results" / "cli_start.json"
TARGET_SECONDS = 0.5
PYTHON = Path(sys.executable)  # run this script with the venv's python
CREDX = PYTHON.with_name("credx")  # the console script pip installed beside it
COMMANDS = {
    "python -c pass": [str(PYTHON), "-c", "pass"],
    "credx --help": [str(CREDX), "--help"],
    "credx version": [str(CREDX), "version"],
}


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv`, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU times of every command, one of each per round."""
    for argv in COMMANDS.values():
        timed(argv)  # warm the file cache and the bytecode; not counted
    times = {name: {"wall": [], "cpu": []} for name in COMMANDS}
    for round_ in range(runs):
        for name, argv in COMMANDS.items():
            wall, cpu = timed(argv)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
        if (round_ + 1) % 10 == 0:
            progress(f"{round_ + 1}/{runs} rounds")
    return times


def figures(times: dict[str, dict[str, list[float]]], runs: int) -> dict:
    floor = statistics.median(times["python -c pass"]["wall"])
    rows = [
        {
            "command": name,
            "median_wall_s": round(statistics.median(t["wall"]), 3),
            "median_cpu_s": round(statistics.median(t["cpu"]), 3),
            "ratio_to_python_c_pass": round(statistics.median(t["wall"]) / floor, 1),
        }
        for name, t in times.items()
    ]
    targets = {
        f"{row['command']} median wall s": {
            "value": row["median_wall_s"], "target": f"< {TARGET_SECONDS} on an idle machine",
            "pass": row["median_wall_s"] < TARGET_SECONDS, "format": ".3f",
        }
        for row in rows if row["command"] != "python -c pass"
    }  # fmt: skip
    return {"runs": runs, "commands": rows, "targets": targets}


def machine(load_at_start: float) -> str:
    return (f"{os.cpu_count()} cores (nproc), Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}, load average {load_at_start:.1f} at "
            f"start and {os.getloadavg()[0]:.1f} at end")  # fmt: skip


def table(summary: dict) -> str:
    lines = [f"{'command':16} {'median wall s':>14} {'median CPU s':>13} {'x python -c pass':>17}"]
    for row in summary["commands"]:
        wall, cpu, ratio = (row[k] for k in ("median_wall_s", "median_cpu_s",
                                             "ratio_to_python_c_pass"))  # fmt: skip
        lines.append(f"{row['command']:16} {wall:>14.3f} {cpu:>13.3f} {ratio:>17.1f}")
    return "\n".join([*lines, *verdict_lines(summary["targets"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds (one of each command)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args()
    started, load = datetime.now(UTC), os.getloadavg()[0]
    summary = figures(measure(args.runs), args.runs)
    command = ".venv/bin/python bench/cli_start.py" + (
        f" --runs {args.runs}" if args.runs != 20 else ""
    )
    run = {"benchmark": "cli_start", "measured_at": started.isoformat(timespec="seconds"),
           "machine": machine(load), "command": command, "figures": summary}  # fmt: skip
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(run, indent=2) + "\n")
    print_report(table(summary), summary, as_json=args.json)
    progress(f"written to {RESULT.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
