"""Bulk uploads: a zip of certificates and a manifest, a result per line; hostile zips refused."""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlmodel import select

from credx.app import App
from eventlog.models import Event
from exchange.evidence.archives import BulkArchive, read_manifest
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.models import Evidence
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.services import EvidenceService
from kernel.database import session_scope
from tests.exchange.evidence.samples import (
    DISTRICT,
    claim,
    manifest,
    pdf_bytes,
    png_bytes,
    write,
    zip_bomb,
    zip_bytes,
    zip_with_symlink,
)

LIMITS = {"max_entries": 5, "max_total": 50 << 20, "max_file": 20 << 20}


def archive_refusal(tmp_path, data: bytes, **limits) -> EvidenceRefused:
    with pytest.raises(EvidenceRefused) as caught:
        BulkArchive(write(tmp_path, "bulk.zip", data), **{**LIMITS, **limits})
    assert caught.value.field == "archive"
    return caught.value


BAD_ARCHIVES = {
    "zip slip ../": (zip_bytes({"../../home/evil.png": png_bytes()}), "unsafe_path"),
    "zip slip nested ..": (zip_bytes({"scans/../../evil.png": png_bytes()}), "unsafe_path"),
    "absolute path": (zip_bytes({"/etc/cron.d/evil.png": png_bytes()}), "unsafe_path"),
    "windows drive path": (zip_bytes({"C:\\Windows\\evil.png": png_bytes()}), "unsafe_path"),
    "backslash ..": (zip_bytes({"..\\evil.png": png_bytes()}), "unsafe_path"),
    "symlink entry": (zip_with_symlink(), "symlink"),
    "too many entries": (zip_bytes({f"{n}.png": b"x" for n in range(6)}), "too_many_entries"),
    "zip bomb": (zip_bomb(40), "zip_bomb"),
    "not a zip": (png_bytes(), "bad_archive"),
    "truncated zip": (zip_bytes({"a.png": png_bytes()})[:-30], "bad_archive"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_hostile_archive_is_refused_whole(tmp_path, case):
    data, code = BAD_ARCHIVES[case]
    assert archive_refusal(tmp_path, data).code == code


def test_declared_total_over_the_limit_is_refused(tmp_path):
    data = zip_bytes({"a.pdf": pdf_bytes(), "b.pdf": pdf_bytes()})
    assert archive_refusal(tmp_path, data, max_total=1000).code == "archive_too_large"


def test_entries_are_extracted_under_credx_names_and_counted(tmp_path):
    data = zip_bytes({"scans/José cert.png": png_bytes(), "b.png": png_bytes(seed=2)})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with BulkArchive(write(tmp_path, "bulk.zip", data), **{**LIMITS, "max_file": 10 << 20}) as z:
        path = z.extract(z.entry("scans/José cert.png"), scratch)
        assert path.parent == scratch and "José" not in path.name
        assert path.read_bytes() == png_bytes() and path.stat().st_mode & 0o077 == 0
        with pytest.raises(EvidenceRefused) as caught:
            z.entry("missing.png")
        assert caught.value.code == "missing_file"
        z.max_file = 100
        with pytest.raises(EvidenceRefused) as caught:
            z.extract(z.entry("b.png"), scratch)
        assert caught.value.code == "file_too_large"
    assert sorted(p.name for p in scratch.iterdir()) == [path.name]  # the refused one is gone


def test_manifest_header_and_encoding_are_checked(tmp_path):
    good = manifest([("a.png", claim())])
    assert read_manifest(write(tmp_path, "m.csv", "\ufeff" + good), 10)[0].file == "a.png"
    bad = {
        "m1.csv": good.replace("school_code", "schol_code"),
        "m2.csv": good.encode("utf-8").replace(b"Jos\xc3\xa9", b"Jos\xe9"),
        "m3.csv": good.splitlines()[0] + "\n",
        "m4.csv": manifest([("a.png", claim())] * 3),
    }
    for name, content in bad.items():
        with pytest.raises(EvidenceRefused) as caught:
            read_manifest(write(tmp_path, name, content), 2)
        assert caught.value.field == "manifest", name
    huge_field = good + 'x.png,"' + "x" * 200_000 + '"\n'
    with pytest.raises(EvidenceRefused) as caught:
        read_manifest(write(tmp_path, "m5.csv", huge_field), 100)
    assert "not a readable CSV" in str(caught.value)


def test_bulk_upload_gives_a_result_per_line(app, session, tmp_path):
    archive = zip_bytes({
        "scans/a.png": png_bytes(seed=1), "b.pdf": pdf_bytes(seed=2),
        "c.png": png_bytes(seed=3) + b"<html>",
    })  # fmt: skip
    lines = [
        ("scans/a.png", claim(1)),
        ("b.pdf", claim(2)),
        ("c.png", claim(3)),
        ("d.png", claim(4)),
        ("scans/a.png", claim(5, school_year="2025")),
        ("scans/a.png", claim(6)),  # the same image for another student
    ]
    report = EvidenceService(session, app, DISTRICT).submit_bulk(
        write(tmp_path, "bulk.zip", archive), write(tmp_path, "manifest.csv", manifest(lines))
    )
    results = report.as_json()
    assert (results["accepted"], results["refused"]) == (3, 3)
    by_line = {line["line"]: line for line in results["lines"]}
    assert by_line[1]["status"] == by_line[2]["status"] == "received"
    assert by_line[3]["error"]["code"] == "polyglot"
    assert by_line[4]["error"]["code"] == "missing_file"
    assert by_line[5]["error"]["field"] == "school_year"
    assert by_line[6]["flags"] == ["duplicate_image"]
    stored = session.exec(select(Evidence)).all()
    assert {row.state_student_id for row in stored} == {"LA1000001", "LA1000002", "LA1000006"}
    actions = [e.action for e in session.exec(select(Event))]
    assert actions.count(EvidenceEvent.EVIDENCE_REFUSED) == 3
    assert actions.count(EvidenceEvent.EVIDENCE_BULK_RECEIVED) == 1


def test_bulk_limits_come_from_settings_and_refusals_are_logged(settings, tmp_path):
    small = App(settings.model_copy(update={"upload_bulk_max_entries": 2}))
    data = zip_bytes({"a.png": b"1", "b.png": b"2", "c.png": b"3"})
    paths = (
        write(tmp_path, "z.zip", data),
        write(tmp_path, "m.csv", manifest([("a.png", claim())])),
    )
    with pytest.raises(EvidenceRefused) as caught, session_scope(small.engine) as session:
        EvidenceService(session, small, DISTRICT).submit_bulk(*paths)  # the unit of work keeps
    assert caught.value.code == "too_many_entries"
    with session_scope(small.engine) as session:
        refused = session.exec(
            select(Event).where(Event.action == str(EvidenceEvent.EVIDENCE_BULK_REFUSED))
        ).one()
    assert json.loads(refused.payload)["field"] == "archive"
    small.engine.dispose()


def test_zip_entries_are_never_written_where_their_names_point(app, session, tmp_path):
    target = tmp_path / "escaped.png"
    data = zip_bytes({"../escaped.png": png_bytes()})
    with pytest.raises(EvidenceRefused):
        EvidenceService(session, app, DISTRICT).submit_bulk(
            write(tmp_path, "z.zip", data),
            write(tmp_path, "m.csv", manifest([("../escaped.png", claim())])),
        )
    assert not target.exists()
    assert zipfile.is_zipfile(tmp_path / "z.zip")
