"""SFTP pull benchmark: credx's `SftpSource.fetch` against OpenSSH's own `sftp` client.

What is measured
----------------
1. A loopback OpenSSH sshd is started exactly as the tests start it
   (`tests.sshd.start_sshd`: its own host key, an Ed25519 client key,
   `internal-sftp`), and a file of `--mb` MB of random bytes is written into
   its directory.
2. **openssh**: `sftp -b - -i KEY -P PORT -o StrictHostKeyChecking=no
   -o UserKnownHostsFile=/dev/null USER@127.0.0.1` with the batch
   `get REMOTE LOCAL`, timed from process start to exit (connect, key
   exchange, login and the transfer).  The copy is checked by SHA-256.
3. **credx**: in a fresh interpreter, `SftpSource(settings)` is entered
   (connect, pinned host key, key login), lists the directory and
   `fetch`es the file; timed from `with source:` to the verified local file
   (credx also hashes every byte and checks size and mtime).  The copy is
   checked by SHA-256 afterwards, untimed.  Peak RSS is that process's
   `ru_maxrss` (imports included).

The two run alternately `--rounds` times (default 3) and the median of each is
compared, because two processes share two cores with sshd and single loopback
runs scatter by +-20%.  Throughput is file MB (10^6 bytes) / seconds.
Targets: credx at least 0.8x OpenSSH's throughput; credx peak RSS below
200 MB.  The exit status is 0 whatever the result; PASS/FAIL is printed.

Re-run
------
    . .venv/bin/activate
    python bench/sftp.py                       # 200 MB, settings' defaults
    python bench/sftp.py --mb 50 --rounds 5
    python bench/sftp.py --max-requests 16 --read-kib 32   # other pipeline shapes
    python bench/sftp.py --json                # JSON on stdout, the table on stderr

Needs /usr/sbin/sshd and sftp (Debian: apt-get install -y openssh-server
openssh-client).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `python bench/sftp.py` without an installed credx
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import peak_rss_mb, print_report, progress, verdict_lines  # noqa: E402

DEFAULT_MB = 200
DEFAULT_ROUNDS = 3
TARGET_RATIO = 0.8
TARGET_RSS_MB = 200.0
WRITE_BLOCK = 8 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(WRITE_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# child: one credx pull ----------------------------------------------------------------
def phase_credx(spec: dict[str, Any]) -> dict[str, Any]:
    """Connect, list and fetch `spec["name"]` with credx's `SftpSource`; time it."""
    from exchange.connectors import SftpSettings
    from exchange.sftp import READ_SIZE, SftpSource

    settings = SftpSettings(
        host=spec["host"], port=spec["port"], username=spec["user"], key_file=spec["key"],
        host_key=spec["fingerprint"], directory=spec["directory"], stable_seconds=0,
        max_requests=spec["max_requests"] or SftpSettings.model_fields["max_requests"].default,
    )  # fmt: skip
    read_size = spec["read_kib"] * 1024 if spec["read_kib"] else READ_SIZE
    target = Path(spec["workdir"])
    started = time.perf_counter()
    with SftpSource(settings, read_size=read_size) as source:
        [item] = [f for f in source.ready_files() if f.name == spec["name"]]
        local = source.fetch(item, target)
    seconds = time.perf_counter() - started
    rss = peak_rss_mb()
    ok = sha256_of(local) == spec["sha256"]
    local.unlink()
    return {"seconds": seconds, "peak_rss_mb": rss, "verified": ok,
            "max_requests": settings.max_requests, "read_size": read_size}  # fmt: skip


def run_credx(spec: dict[str, Any]) -> dict[str, Any]:
    """`phase_credx` in a fresh interpreter, so its peak RSS is the pull's alone."""
    command = [sys.executable, str(Path(__file__).resolve()), "--phase-credx", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the credx pull failed with exit status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# parent ---------------------------------------------------------------------------------
def run_openssh(spec: dict[str, Any], remote: Path) -> dict[str, Any]:
    local = Path(spec["workdir"]) / "openssh.copy"
    command = [
        "sftp", "-q", "-b", "-", "-i", spec["key"], "-P", str(spec["port"]),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        f"{spec['user']}@{spec['host']}",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        command, input=f'get "{remote}" "{local}"\n', capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"OpenSSH sftp failed with exit status {done.returncode}")
    ok = sha256_of(local) == spec["sha256"]
    local.unlink()
    return {"seconds": seconds, "verified": ok}


def write_random_file(path: Path, megabytes: int) -> str:
    """`megabytes` x 10^6 random bytes (incompressible); returns the SHA-256."""
    digest, left = hashlib.sha256(), megabytes * 1_000_000
    with open(path, "wb") as handle:
        while left:
            block = os.urandom(min(WRITE_BLOCK, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def summarise(megabytes: int, credx: list[dict], openssh: list[dict]) -> dict[str, Any]:
    credx_mbps = [megabytes / r["seconds"] for r in credx]
    openssh_mbps = [megabytes / r["seconds"] for r in openssh]
    ratio = statistics.median(credx_mbps) / statistics.median(openssh_mbps)
    rss = max(r["peak_rss_mb"] for r in credx)
    return {
        "megabytes": megabytes,
        "credx_mb_per_s": credx_mbps,
        "openssh_mb_per_s": openssh_mbps,
        "credx_median": statistics.median(credx_mbps),
        "openssh_median": statistics.median(openssh_mbps),
        "ratio": ratio,
        "credx_peak_rss_mb": rss,
        "max_requests": credx[0]["max_requests"],
        "read_size": credx[0]["read_size"],
        "all_verified": all(r["verified"] for r in credx + openssh),
        "targets": {
            "throughput_ratio": {
                "target": f">= {TARGET_RATIO}",
                "value": ratio,
                "pass": ratio >= TARGET_RATIO,
            },
            "credx_peak_rss_mb": {
                "target": f"< {TARGET_RSS_MB:.0f}",
                "value": rss,
                "pass": rss < TARGET_RSS_MB,
            },
        },
    }


def render_table(summary: dict[str, Any]) -> str:
    def runs(values: list[float]) -> str:
        return " ".join(f"{v:7.1f}" for v in values)

    lines = [
        f"{summary['megabytes']} MB over loopback sftp; credx pipeline "
        f"{summary['max_requests']} x {summary['read_size'] // 1024} KiB reads",
        f"{'client':<8} {'median MB/s':>12}   runs MB/s",
        f"{'credx':<8} {summary['credx_median']:>12.1f}   {runs(summary['credx_mb_per_s'])}",
        f"{'openssh':<8} {summary['openssh_median']:>12.1f}   {runs(summary['openssh_mb_per_s'])}",
        f"every copy verified by SHA-256: {summary['all_verified']}",
        "",
    ]
    return "\n".join([*lines, *verdict_lines(summary["targets"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=DEFAULT_MB, help="file size in MB (10^6)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="runs of each client")
    parser.add_argument("--max-requests", type=int, help="credx reads in flight (settings)")
    parser.add_argument("--read-kib", type=int, help="credx read size in KiB")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--phase-credx", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase_credx:
        print(json.dumps(phase_credx(json.loads(args.phase_credx))))
        return 0

    from tests.sshd import start_sshd

    with tempfile.TemporaryDirectory(prefix="credx-bench-sftp-") as tmp:
        root = Path(tmp)
        server = start_sshd(root / "sshd")
        try:
            remote = server.files / "bench.bin"
            progress(f"writing {args.mb} MB of random bytes ...")
            spec = {
                "host": server.host, "port": server.port, "user": server.user,
                "key": str(server.ed25519_key), "fingerprint": server.host_key_fingerprint,
                "directory": str(server.files), "name": remote.name,
                "sha256": write_random_file(remote, args.mb), "workdir": str(root),
                "max_requests": args.max_requests, "read_kib": args.read_kib,
            }  # fmt: skip
            credx, openssh = [], []
            for round_number in range(1, args.rounds + 1):
                os.sync()  # neither client pays for writing back the other's copy
                openssh.append(run_openssh(spec, remote))
                os.sync()
                credx.append(run_credx(spec))
                progress(
                    f"round {round_number}: openssh {openssh[-1]['seconds']:.2f} s, "
                    f"credx {credx[-1]['seconds']:.2f} s"
                )
        finally:
            server.stop()

    summary = summarise(args.mb, credx, openssh)
    print_report(render_table(summary), summary, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
