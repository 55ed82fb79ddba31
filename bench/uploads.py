"""Upload benchmark: concurrent 20 MB certificate uploads against `credx serve` on loopback.

What is measured
----------------
1. One incompressible PNG just under the size cap (random RGB pixels, stored
   uncompressed: 2,600 x 2,600 px, about 20.3 MB) is generated once.  Every
   upload is that image with a different `tEXt` chunk after the header, so each
   has its own sha256 (no duplicate flags) while the client holds one copy.
2. **credx**: a fresh SQLite installation in a temp home, one district token,
   then `credx serve` (one uvicorn worker) on a free loopback port.  N clients
   (default 100) POST `/api/v1/evidence` at once, each a multipart body streamed
   from memory (claim fields + the PNG).  credx streams each body to a temp file,
   decodes and checks it (bounded by CREDX_UPLOAD_DECODE_CONCURRENCY), renders
   the preview, encrypts and stores both, records the row.  Every answer must
   be 201.
3. **baseline**: the same bodies, same concurrency, POSTed to a trivial uvicorn
   app on loopback that reads each body in chunks and discards it: what moving
   the bytes over HTTP alone costs on this machine.

4. **hostile batch** (`--hostile`, on by default): PDF decompression bombs, one page
   whose content stream inflates to 64, 256 and 512 MiB (`--bombs-each` of each, a
   few hundred KB sent), POSTed while the normal uploads of step 2 are in flight, to a
   fresh `credx serve`.  Every bomb must be refused (413/422) and the peak RSS of the
   server plus all its child processes (summed) stay under 300 MB: decoding runs in
   sandboxed child processes (`exchange.evidence.sandbox`), each capped by
   CREDX_UPLOAD_SANDBOX_MEMORY_MB.  The server and its helpers (the decoders' fork
   server, multiprocessing's resource tracker) are also shown apart, and the PSS of all
   of them at the end (shared pages counted once): an extra figure, not judged.
5. **today's credx** (`--baseline-ref`, default `main`): the same normal uploads to
   `credx serve` run from `git archive <ref>` of this repository, in the same run;
   `normal_throughput_ratio` = this tree's normal throughput / that one's (target >= 0.8).

Throughput is uploaded bytes / wall seconds from the first request to the last
answer.  Peak RSS is the server process's `VmHWM` from `/proc/PID/status`
plus that of every child process alive (workers, fork server, resource tracker), read
just before it is stopped.
Targets: credx peak RSS < 300 MB; the ratio to the baseline is reported (credx
does far more per byte: decode, re-render, encrypt, store), not judged.
Exit status 0 whatever the result; PASS/FAIL per target.

Re-run
------
    . .venv/bin/activate
    python bench/uploads.py                       # 100 uploads of 20 MB
    python bench/uploads.py --uploads 20          # quicker
    python bench/uploads.py --json                # JSON on stdout, the table on stderr
    python bench/uploads.py --no-hostile          # without the bombs and today's credx
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import print_report, progress, verdict_lines  # noqa: E402

SIDE = 2600  # 2600 x 2600 x 3 bytes: just under the 20 MiB default cap once framed
TARGET_RSS_MB = 300.0
CHUNK = 256 * 1024
BOUNDARY = "credxbenchboundary"
CLAIM = {
    "student_name": "Bench Student",
    "birth_date": "2008-03-14",
    "school_code": "036001",
    "school_year": "2025-26",
    "graduation_pathway": "Jump Start TOPS Tech",
    "credential_code": "MICRO001",
    "date_earned": "2026-02-10",
}


def noise_png(side: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def with_text_chunk(png: bytes, text: str) -> tuple[bytes, bytes]:
    """(head, tail) of `png` with a tEXt chunk after IHDR: the tail is shared, not copied."""
    chunk_type, data = b"tEXt", b"Comment\0" + text.encode()
    chunk = struct.pack(">I", len(data)) + chunk_type + data
    chunk += struct.pack(">I", zlib.crc32(chunk_type + data))
    ihdr_end = 8 + 25  # signature + IHDR (length, type, 13 bytes, crc)
    return png[:ihdr_end] + chunk, png[ihdr_end:]


def multipart_parts(number: int, png: bytes) -> tuple[list[bytes | memoryview], int]:
    fields = {**CLAIM, "state_student_id": f"LA{number:07d}"}
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="cert-{number}.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    png_head, png_tail = with_text_chunk(png, f"upload {number}")
    view = memoryview(png_tail)
    parts = [head + png_head, *(view[i : i + CHUNK] for i in range(0, len(view), CHUNK))]
    parts.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return parts, sum(len(p) for p in parts)


async def post_all(url: str, token: str, png: bytes, uploads: int) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}  # fmt: skip
    limits = httpx.Limits(max_connections=uploads, max_keepalive_connections=uploads)
    statuses: list[int] = []
    sent = 0

    async def one(client: httpx.AsyncClient, number: int) -> None:
        nonlocal sent
        parts, size = multipart_parts(number, png)

        async def body():
            for part in parts:
                yield bytes(part)

        response = await client.post(url, content=body(),
                                     headers={**headers, "Content-Length": str(size)})  # fmt: skip
        statuses.append(response.status_code)
        if response.status_code != 201 and len(statuses) < 3:
            progress(f"upload {number}: {response.status_code} {response.text[:200]}")
        sent += size

    async with httpx.AsyncClient(timeout=httpx.Timeout(900), limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client, n) for n in range(1, uploads + 1)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": sent, "statuses": statuses,
            "accepted": sum(1 for s in statuses if s in (200, 201))}  # fmt: skip


# servers --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process plus all its live descendants, in MB."""
    return sum(peak_rss_parts(pid).values())


def peak_rss_parts(pid: int) -> dict[str, float]:
    """VmHWM in MB of the server process and, summed, of all its descendants alive now:
    uvicorn workers with several, and with one the decoders' fork server and
    multiprocessing's resource tracker (whose size does not depend on the uploads: the
    decoders themselves are the fork server's short-lived children, each capped by
    RLIMIT_AS)."""
    return {"server": _hwm_mb(pid), "children": sum(_hwm_mb(kid) for kid in descendants(pid))}


def descendants(pid: int) -> list[int]:
    """Every live process under `pid` (children of any of its threads, and theirs)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(kid) for kid in (task / "children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def pss_mb(pid: int) -> float:
    """Proportional set size now (shared pages divided among their users) of the server and
    its descendants, in MB: an extra figure beside the peak RSS sum, which is what is judged."""
    total = 0.0
    for process in (pid, *descendants(pid)):
        try:
            rollup = Path(f"/proc/{process}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in rollup.splitlines()
                     if line.startswith("Pss:")) / 1024  # fmt: skip
    return total


def _hwm_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it ended between the listing and the read
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sink_app():
    """The baseline server: read every body in chunks, keep nothing, answer 201."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        received, more = 0, True
        while more:
            message = await receive()
            received += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200 if scope["path"] == "/healthz"
                    else 201, "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": json.dumps({"bytes": received}).encode()})

    return app


def run_server(command: list[str], env: dict[str, str], port: int, png: bytes, uploads: int,
               token: str) -> dict[str, Any]:  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    log = open(Path(env["CREDX_HOME"]).parent / f"server-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"{base}/healthz", process)
        result = asyncio.run(post_all(f"{base}/api/v1/evidence", token, png, uploads))
        result["peak_rss_mb"] = peak_rss_mb(process.pid)
        result["pss_mb_at_end"] = pss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    if result["accepted"] != uploads:
        progress(Path(log.name).read_text()[-3000:])
    result["mb_per_second"] = result["bytes"] / 1e6 / result["seconds"]
    result["uploads_per_second"] = uploads / result["seconds"]
    return result


BOMB_MIB = (64, 256, 512)


def bomb_bodies(each: int) -> list[tuple[int, bytes]]:
    from tests.drills.hostile import pdf_bomb

    return [(mib, pdf_bomb(mib << 20)) for mib in BOMB_MIB for _ in range(each)]


async def post_with_bombs(url: str, token: str, png: bytes, uploads: int,
                          bombs: list[tuple[int, bytes]]) -> dict[str, Any]:  # fmt: skip
    """The normal uploads, and the bombs sent while they are in flight."""
    import httpx

    async def bomb(client: httpx.AsyncClient, number: int, data: bytes) -> int:
        await asyncio.sleep(0.5 + number * 0.2)  # among the normal uploads, not before them
        fields = {**CLAIM, "state_student_id": f"LA9{number:06d}"}
        response = await client.post(url, data=fields, files={"file": ("c.pdf", data,
                                     "application/pdf")}, headers={"Authorization":
                                     f"Bearer {token}"})  # fmt: skip
        return response.status_code

    async with httpx.AsyncClient(timeout=httpx.Timeout(900)) as client:
        normal, *statuses = await asyncio.gather(
            post_all(url, token, png, uploads),
            *(bomb(client, n, data) for n, (_mib, data) in enumerate(bombs)),
        )
    sizes = [f"{mib} MiB" for mib, _data in bombs]
    normal["bomb_statuses"] = dict(zip(sizes, statuses, strict=True))
    return normal


def serve_and_measure(command: list[str], env: dict[str, str], port: int, post,
                      cwd: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """`credx serve` (or today's), `post(base_url)`, then the server's peak RSS."""
    base = f"http://127.0.0.1:{port}"
    log = open(Path(env["CREDX_HOME"]).parent / f"server-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        wait_healthy(f"{base}/healthz", process)
        result = asyncio.run(post(f"{base}/api/v1/evidence"))
        parts = peak_rss_parts(process.pid)
        result["peak_rss_mb"] = parts["server"] + parts["children"]
        result["server_peak_rss_mb"] = parts["server"]
        result["helpers_peak_rss_mb"] = parts["children"]
        result["pss_mb_at_end"] = pss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    result["mb_per_second"] = result["bytes"] / 1e6 / result["seconds"]
    result["uploads_per_second"] = len(result["statuses"]) / result["seconds"]
    result.pop("statuses")
    return result


def todays_tree(ref: str, into: Path) -> Path:
    """`git archive REF` of this repository, unpacked: credx as it was, to serve."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", ref],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def hostile(args: argparse.Namespace, png: bytes, tmp: Path) -> dict[str, Any]:
    """Normal uploads alone and with bombs in flight (this tree), and alone (today's)."""
    serve = [sys.executable, "-c", "from credx.cli import main; main()", "serve", "--port"]
    bombs = bomb_bodies(args.bombs_each)
    env, token = credx_installation(tmp / "hostile-home")
    port = free_port()
    progress(f"this tree: {args.uploads} uploads with {len(bombs)} bombs in flight ...")
    with_bombs = serve_and_measure([*serve, str(port)], env, port, lambda url: post_with_bombs(
        url, token, png, args.uploads, bombs))  # fmt: skip
    env, token = credx_installation(tmp / "normal-home")
    port = free_port()
    progress(f"this tree: {args.uploads} normal uploads ...")
    normal = serve_and_measure([*serve, str(port)], env, port,
                               lambda url: post_all(url, token, png, args.uploads))  # fmt: skip
    tree = todays_tree(args.baseline_ref, tmp / "today")
    env, token = credx_installation(tmp / "today-home")
    port = free_port()
    progress(f"today's credx ({args.baseline_ref}): {args.uploads} normal uploads ...")
    today = serve_and_measure(
        [*serve, str(port)], {**env, "PYTHONPATH": str(tree)}, port,
        lambda url: post_all(url, token, png, args.uploads), cwd=tree,
    )  # fmt: skip
    return {"with_bombs": with_bombs, "normal": normal, "today": today,
            "baseline_ref": args.baseline_ref,
            "normal_throughput_ratio": normal["mb_per_second"] / today["mb_per_second"],
            "with_bombs_throughput_ratio": with_bombs["mb_per_second"] / today["mb_per_second"],
            "bombs_refused": all(s in (413, 422)
                                 for s in with_bombs["bomb_statuses"].values())}  # fmt: skip


def hostile_targets(result: dict[str, Any], uploads: int) -> dict[str, dict]:
    bombs = result["with_bombs"]
    return {
        "credx_peak_rss_mb_with_bombs": {"target": f"< {TARGET_RSS_MB:.0f}",
                                         "value": bombs["peak_rss_mb"],
                                         "pass": bombs["peak_rss_mb"] < TARGET_RSS_MB},
        "normal_throughput_ratio": {"target": ">= 0.8 x today's",
                                    "value": result["normal_throughput_ratio"],
                                    "pass": result["normal_throughput_ratio"] >= 0.8},
        "bombs_refused": {"target": "= 1 (all)", "value": float(result["bombs_refused"]),
                          "pass": result["bombs_refused"]},
        "normal_uploads_accepted_with_bombs": {"target": f"= {uploads}",
                                               "value": bombs["accepted"],
                                               "pass": bombs["accepted"] == uploads},
    }  # fmt: skip


def hostile_table(result: dict[str, Any]) -> list[str]:
    rows = ["", f"{'run':<26} {'uploads':>8} {'MB/s':>8} {'server MB':>10} {'helpers MB':>11} "
                f"{'sum MB':>8} {'PSS MB':>8}"]  # fmt: skip
    labels = {"normal": "this tree, normal", "with_bombs": "this tree, bombs in flight",
              "today": f"today's ({result['baseline_ref']}), normal"}  # fmt: skip
    for name, label in labels.items():
        r = result[name]
        server, helpers = r["server_peak_rss_mb"], r["helpers_peak_rss_mb"]
        rows.append(f"{label:<26} {r['accepted']:>8} {r['mb_per_second']:>8.1f} "
                    f"{server:>10,.0f} {helpers:>11,.0f} {r['peak_rss_mb']:>8,.0f} "
                    f"{r['pss_mb_at_end']:>8,.0f}")  # fmt: skip
    rows.append("bombs: " + ", ".join(f"{k} -> {v}" for k, v in
                                      result["with_bombs"]["bomb_statuses"].items()))  # fmt: skip
    rows.append(f"normal throughput / today's: {result['normal_throughput_ratio']:.2f}; "
                f"with bombs in flight / today's: {result['with_bombs_throughput_ratio']:.2f}")
    return rows


def credx_installation(home: Path) -> tuple[dict[str, str], str]:
    from access.principals import Role
    from access.tokens import TokenService, TokenSpec
    from credx.app import App
    from credx.installation import initialise
    from kernel.database import session_scope
    from kernel.settings import Settings

    app = App(Settings(home=home))
    initialise(app)
    with session_scope(app.engine) as session:
        spec = TokenSpec(Role.DISTRICT, "LA", "036", expires_days=1)
        token = TokenService(session).create(spec, actor="bench").secret
    app.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDX_")}
    env["CREDX_HOME"] = str(home)
    return env, token


def summarise(uploads: int, credx: dict, baseline: dict) -> dict[str, Any]:
    ratio = credx["mb_per_second"] / baseline["mb_per_second"]
    return {
        "uploads": uploads, "credx": credx, "baseline": baseline, "throughput_ratio": ratio,
        "targets": {
            "credx_peak_rss_mb": {"target": f"< {TARGET_RSS_MB:.0f}",
                                  "value": credx["peak_rss_mb"],
                                  "pass": credx["peak_rss_mb"] < TARGET_RSS_MB},
            "uploads_accepted": {"target": f"= {uploads}", "value": credx["accepted"],
                                 "pass": credx["accepted"] == uploads},
        },
    }  # fmt: skip


def render_table(summary: dict[str, Any]) -> str:
    rows = [f"{'server':<10} {'uploads':>8} {'MB':>9} {'seconds':>9} {'MB/s':>8} "
            f"{'uploads/s':>10} {'peak RSS MB':>12}"]  # fmt: skip
    for name in ("credx", "baseline"):
        r = summary[name]
        rows.append(f"{name:<10} {r['accepted']:>8} {r['bytes'] / 1e6:>9,.0f} "
                    f"{r['seconds']:>9.2f} {r['mb_per_second']:>8.1f} "
                    f"{r['uploads_per_second']:>10.2f} {r['peak_rss_mb']:>12,.0f}")  # fmt: skip
    rows += ["", f"credx throughput / baseline throughput: {summary['throughput_ratio']:.2f}", ""]
    return "\n".join([*rows, *verdict_lines(summary["targets"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=100, help="concurrent uploads")
    parser.add_argument("--side", type=int, default=SIDE, help="PNG width = height in pixels")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--sink-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hostile", action=argparse.BooleanOptionalAction, default=True,
                        help="also the bombs and today's credx (default: on)")
    parser.add_argument("--bombs-each", type=int, default=1, help="bombs of each size")
    parser.add_argument("--baseline-ref", default="main", help="git ref of today's credx")
    args = parser.parse_args(argv)
    if args.sink_port:
        import uvicorn

        uvicorn.run(sink_app(), host="127.0.0.1", port=args.sink_port, log_level="warning")
        return 0

    progress(f"generating a {args.side} x {args.side} PNG ...")
    png = noise_png(args.side)
    progress(f"{len(png) / 1e6:.1f} MB; setting up a credx installation ...")
    with tempfile.TemporaryDirectory(prefix="credx-bench-") as tmp:
        env, token = credx_installation(Path(tmp) / "home")
        credx_cmd = [sys.executable, "-c", "from credx.cli import main; main()", "serve"]
        port = free_port()
        progress(f"credx: {args.uploads} concurrent uploads ...")
        credx = run_server([*credx_cmd, "--port", str(port)], env, port, png, args.uploads,
                           token)  # fmt: skip
        progress(f"credx: {credx['seconds']:.1f} s; baseline ...")
        port = free_port()
        sink = [sys.executable, str(Path(__file__).resolve()), "--sink-port", str(port)]
        baseline = run_server(sink, env, port, png, args.uploads, token)
        hostile_run = hostile(args, png, Path(tmp)) if args.hostile else None
    for result in (credx, baseline):
        result.pop("statuses")
    summary = summarise(args.uploads, credx, baseline)
    table = render_table(summary)
    if hostile_run is not None:
        summary["hostile"] = hostile_run
        targets = hostile_targets(hostile_run, args.uploads)
        summary["targets"].update(targets)
        table += "\n" + "\n".join([*hostile_table(hostile_run), "", *verdict_lines(targets)])
    print_report(table, summary, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
