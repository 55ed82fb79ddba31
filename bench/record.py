"""Record a benchmark run as the last one the manual shows.

    .venv/bin/python bench/record.py NAME [ARGS...]

runs `bench/NAME.py ARGS --json` (its table goes to stderr as usual), and
writes its summary to `bench/results/NAME.json` (`--as OTHER` before ARGS: to
`bench/results/OTHER.json`, for a second configuration of one benchmark) with the keys the manual's
benchmarks page reads: `benchmark`, `measured_at` (UTC), `machine` (cores,
memory, load average at the start: figures from a busy machine say so),
`command` and `figures`.  Commit the file: the page is generated from it, so
no figure is ever typed into the manual.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores, {memory_gb:.0f} GB, load average {load:.1f} at start, "
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}")


def record(name: str, args: list[str], recorded_as: str | None = None) -> Path:
    script = BENCH / f"{name}.py"
    if not script.is_file():
        raise SystemExit(f"no benchmark {name!r}: expected {script}")
    command = " ".join([".venv/bin/python", f"bench/{name}.py", *args])
    started, where = datetime.now(UTC), machine()
    done = subprocess.run([sys.executable, str(script), *args, "--json"], cwd=BENCH.parent,
                          stdout=subprocess.PIPE, text=True, check=True)  # fmt: skip
    run = {"benchmark": recorded_as or name, "measured_at": started.isoformat(timespec="seconds"),
           "machine": where, "command": command, "figures": json.loads(done.stdout)}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{recorded_as or name}.json"
    out.write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    rest = sys.argv[2:]
    recorded_as = None
    if rest[:1] == ["--as"] and len(rest) > 1:
        recorded_as, rest = rest[1], rest[2:]
    print(record(sys.argv[1], rest, recorded_as))
