"""Fault drills: real failures of real parts, and afterwards not one record lost or doubled.

- the ingest's PostgreSQL connection is terminated (`pg_terminate_backend`) mid-COPY;
- the blob store's disk fills up (a 1 MiB tmpfs mounted for the drill);
- the S3 blob store is unreachable (an endpoint nothing listens on);
- `credx serve` is SIGKILLed while districts upload.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import col, func, select

from credx.app import App
from credx.jobs import JOB_HANDLERS
from exchange.evidence.models import Evidence
from exchange.jobs import enqueue
from exchange.models import Delivery, DeliveryStatus, ExamResult, Job, StoredBlob
from exchange.scheduler import run_next
from exchange.storage import LocalBlobStore
from kernel.database import session_scope
from tests.drills.tenants import on_postgresql
from tests.exchange.local_pulls import local_connector
from tests.factories import ExamResultFaker, csv_text, make_vendor, write_file
from tests.web.factories import bearer, claim, make_token, noise_png, upload
from tests.web.live import CREDX, credx_serve, free_port, wait_healthy
from web.app import create_app

ROWS = 60_000


def count(app: App, model) -> int:
    with session_scope(app.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def job_state(app: App, key: str) -> Job:
    with session_scope(app.engine) as session:
        return session.exec(select(Job).where(Job.key == key)).one()


def let_backoff_pass(app: App, key: str) -> None:
    """The retry is due now rather than in minutes (the backoff itself is tested elsewhere)."""
    with session_scope(app.engine) as session:
        job = session.exec(select(Job).where(Job.key == key)).one()
        job.run_after = job.run_after.replace(year=2000)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def blob_files_match_rows(app: App, root: Path) -> None:
    """Every file in a local store is a recorded blob and every live blob has its file."""
    with session_scope(app.engine) as session:
        live = set(session.exec(select(StoredBlob.store_key)).all())
    on_disk = {str(path.relative_to(root)) for path in stored_files(root)}
    assert on_disk == live


# --- the database connection is lost mid-ingest ---------------------------------------------


class BackendKiller(threading.Thread):
    """From a connection of its own, terminates the backend that is COPYing exam results."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self.stop = threading.Event()
        self.killed: list[int] = []

    def run(self) -> None:
        find = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND query LIKE 'COPY \"exam_results\"%'"
        )
        with self.engine.connect() as connection:
            while not self.stop.is_set() and not self.killed:
                for pid in connection.execute(find).scalars():
                    connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    self.killed.append(pid)
                time.sleep(0.005)
        self.engine.dispose()


@on_postgresql
def test_a_delivery_whose_connection_dies_mid_copy_is_retried_and_loaded_once(app, tmp_path):
    settings = app.settings.model_copy(update={"ingest_batch_rows": 5_000})
    worker_app = App(settings)  # several COPYs per file, so one is caught in flight
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    faker = ExamResultFaker(11, vendor_prefix="DRILL-")
    write_file(tmp_path / "drop", "big.csv",
               csv_text([faker.row(n) for n in range(1, ROWS + 1)]))  # fmt: skip
    with session_scope(app.engine) as session:
        enqueue(session, kind="pull", target=name, key="drill-pull")
    killer = BackendKiller(settings.database_url)
    killer.start()
    run_next(worker_app, "drill", JOB_HANDLERS)
    killer.stop.set()
    killer.join()
    assert killer.killed, "the drill never caught the ingest's COPY"
    failed = job_state(app, "drill-pull")
    assert failed.finished_at is None and "OperationalError" in failed.error
    assert count(app, ExamResult) == 0  # the interrupted load left nothing behind
    assert list((tmp_path / "drop").iterdir())  # the vendor's file is still there

    let_backoff_pass(app, "drill-pull")
    assert run_next(worker_app, "drill", JOB_HANDLERS) is not None
    worker_app.engine.dispose()
    done = job_state(app, "drill-pull")
    assert done.finished_at is not None and done.error is None
    with session_scope(app.engine) as session:
        ids = session.exec(select(ExamResult.vendor_record_id)).all()
        statuses = sorted(str(d.status) for d in session.exec(select(Delivery)))
    assert len(ids) == ROWS and len(set(ids)) == ROWS
    assert statuses == [DeliveryStatus.DUPLICATE, DeliveryStatus.LOADED]  # the first, settled
    assert list((tmp_path / "drop").iterdir()) == []
    blob_files_match_rows(app, app.settings.home / "blobs")


# --- the disk fills up while a blob is stored -----------------------------------------------


class FullDiskStore(LocalBlobStore):
    """Only where tmpfs cannot be mounted (no CAP_SYS_ADMIN): the real write, which then
    fails as a full disk does, at the file-write boundary."""

    def __init__(self, root: Path, capacity: int):
        super().__init__(root)
        self.capacity = capacity

    def write(self, key, chunks):
        def limited():
            total = 0
            for chunk in chunks:
                total += len(chunk)
                if total > self.capacity:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                yield chunk

        return super().write(key, limited())


@contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[bool]:
    """A real tmpfs of `size` at `path`; False (and a plain directory) if mounting is refused."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True)  # fmt: skip
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_full_disk_fails_the_upload_cleanly_and_keeps_nothing(app, tmp_path):
    disk = tmp_path / "disk"
    with small_disk(disk) as mounted:
        settings = app.settings.model_copy(update={"blob_url": str(disk)})
        full = App(settings)
        if not mounted:
            full.__dict__["store"] = FullDiskStore(disk, capacity=1 << 20)
        secret = make_token(app, "district", "LA", "036")
        with TestClient(create_app(full)) as client:
            refused = upload(client, secret, noise_png(900, 700), state_student_id="LA1000009")
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["code"] == "busy" and "full or unreachable" in error["message"]
            assert count(app, Evidence) == 0 and count(app, StoredBlob) == 0
            assert stored_files(disk) == []  # no partial temp file holds the space either
            accepted = upload(client, secret, noise_png(64, 64))  # room again: works at once
            assert accepted.status_code == 201, accepted.text
        blob_files_match_rows(app, disk)
        full.engine.dispose()


# --- the S3 blob store is unreachable -------------------------------------------------------


def s3_app(app: App, endpoint: str, bucket: str) -> App:
    update = {"blob_url": f"s3://{bucket}/blobs", "s3_endpoint_url": endpoint}
    return App(app.settings.model_copy(update=update))


def test_an_unreachable_blob_store_refuses_clearly_and_the_pull_is_retried(
    app, tmp_path, s3_server
):
    bucket = s3_server.new_bucket()
    down = s3_app(app, f"http://127.0.0.1:{free_port()}", bucket)  # nothing listens there
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    write_file(tmp_path / "drop", "a.csv",
               csv_text([ExamResultFaker(3).row(n) for n in range(1, 51)]))  # fmt: skip
    secret = make_token(app, "district", "LA", "036")
    with TestClient(create_app(down)) as client:
        refused = upload(client, secret)
    assert (
        refused.status_code == 503 and "send it again later" in refused.json()["error"]["message"]
    )
    with session_scope(app.engine) as session:
        enqueue(session, kind="pull", target=name, key="drill-s3")
    run_next(down, "drill", JOB_HANDLERS)
    failed = job_state(app, "drill-s3")
    assert failed.finished_at is None and "StorageUnavailable" in failed.error
    assert count(app, Delivery) == 0 and count(app, Evidence) == 0 and count(app, StoredBlob) == 0
    assert [p.name for p in (tmp_path / "drop").iterdir()] == ["a.csv"]

    up = s3_app(app, s3_server.endpoint_url, bucket)
    let_backoff_pass(app, "drill-s3")
    run_next(up, "drill", JOB_HANDLERS)
    assert job_state(app, "drill-s3").error is None
    assert count(app, ExamResult) == 50 and count(app, Delivery) == 1
    with TestClient(create_app(up)) as client:
        assert upload(client, secret).status_code == 201
    objects = s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    assert objects == count(app, StoredBlob)  # 1 delivery + original and preview
    for application in (down, up):
        application.engine.dispose()


# --- credx serve is SIGKILLed during uploads ------------------------------------------------


def keep_uploading(base: str, secret: str, stop: threading.Event, n: int) -> list[str]:
    """Upload until the server dies; returns the ids of the uploads it answered 201 to."""
    accepted: list[str] = []
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            files = {"file": ("c.png", noise_png(300 + n, 200), "image/png")}
            data = claim(state_student_id=f"LA9{n:02d}{len(accepted):05d}")
            try:
                response = client.post("/api/v1/evidence", headers=bearer(secret), data=data,
                                       files=files)  # fmt: skip
            except httpx.TransportError:
                return accepted
            if response.status_code == 201:
                accepted.append(response.json()["id"])
    return accepted


@pytest.mark.slow
@on_postgresql
def test_sigkill_of_serve_mid_upload_leaves_no_half_stored_evidence(app, cli_env):
    secret = make_token(app, "district", "LA", "036")
    with credx_serve(cli_env) as (base, process):
        stop = threading.Event()
        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(keep_uploading, base, secret, stop, n) for n in range(4)]
            deadline = time.monotonic() + 30
            while count(app, Evidence) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            accepted = [i for future in running for i in future.result()]
    assert accepted  # a response can be lost with the process, never a committed upload
    port = int(base.rsplit(":", 1)[1])
    restarted = subprocess.Popen(
        [*CREDX, "serve", "--port", str(port)], env={**os.environ, **cli_env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_healthy(base, restarted)
        listed = httpx.get(f"{base}/api/v1/evidence", params={"limit": 500},
                           headers=bearer(secret)).json()  # fmt: skip
        assert len(listed) == count(app, Evidence) >= 4
        assert set(accepted) <= {row["id"] for row in listed}
        for row in listed:
            preview = httpx.get(f"{base}/api/v1/evidence/{row['id']}/preview",
                                headers=bearer(secret))  # fmt: skip
            assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG"), row
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    blobs = app.settings.home / "blobs"
    with session_scope(app.engine) as session:
        referenced = set(session.exec(select(Evidence.blob_id)).all()) | set(
            session.exec(select(Evidence.preview_blob_id).where(
                col(Evidence.preview_blob_id).is_not(None))).all()
        )  # fmt: skip
        keys = dict(session.exec(select(StoredBlob.id, StoredBlob.store_key)).all())
    assert referenced <= set(keys) and all((blobs / keys[b]).is_file() for b in referenced)
    orphans = [p for p in stored_files(blobs) if str(p.relative_to(blobs)) not in keys.values()]
    for path in orphans:  # a blob cut off mid-write: ciphertext whose data key was never kept
        assert b"IHDR" not in path.read_bytes()
    spool = app.settings.home / "tmp" / "uploads"
    assert spool.stat().st_mode & 0o077 == 0  # plaintext a kill left mid-receive: credx's only
    assert list(spool.iterdir()) == []  # and the restart removed it
