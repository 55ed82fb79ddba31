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

Throughput is uploaded bytes / wall seconds from the first request to the last
answer.  Peak RSS is the server process's `VmHWM` from `/proc/PID/status`
(plus its children's, for several workers), read just before it is stopped.
Targets: credx peak RSS < 300 MB; the ratio to the baseline is reported (credx
does far more per byte: decode, re-render, encrypt, store), not judged.
Exit status 0 whatever the result; PASS/FAIL per target.

Re-run
------
    . .venv/bin/activate
    python bench/uploads.py                       # 100 uploads of 20 MB
    python bench/uploads.py --uploads 20          # quicker
    python bench/uploads.py --json                # JSON on stdout, the table on stderr
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
    """VmHWM of the process plus its children (uvicorn workers), in MB."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    total_kb = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


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
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    if result["accepted"] != uploads:
        progress(Path(log.name).read_text()[-3000:])
    result["mb_per_second"] = result["bytes"] / 1e6 / result["seconds"]
    result["uploads_per_second"] = uploads / result["seconds"]
    return result


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
    for result in (credx, baseline):
        result.pop("statuses")
    summary = summarise(args.uploads, credx, baseline)
    print_report(render_table(summary), summary, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
