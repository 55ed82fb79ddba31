"""`credx demo` on a fresh home, as a newcomer runs it: in a real process (it serves the
web app on a thread and runs every domain at once); the commands after it run in-process."""

import csv
import json

import pytest

from tests.cli import credx, credx_process
from tests.credx.sealed_values import field_ciphers, found_in, plaintext_files, students_values


@pytest.mark.slow
def test_demo_runs_end_to_end_and_a_second_run_finds_duplicates(tmp_path):
    env = {"CREDX_HOME": str(tmp_path / "home")}
    summary = json.loads(credx_process("demo", "--rows", "300", "--json", env=env).stdout)
    home = tmp_path / "home"  # issue 16: no student's name, birth date or id in the file
    students = students_values(home)
    assert len(students) > 300
    stored = b"".join(p.read_bytes() for p in home.glob("credx.db*"))
    assert found_in(stored, students, ciphers=field_ciphers(home)) == []
    assert plaintext_files(home) == []  # the roster CSV went once imported
    sealed = summary["sealed"]  # and the demo says so
    assert sealed["stored_first_name_prefix"] == "r1." and sealed["field_keys"] > 0
    assert set(summary["vendors"]) == {"certiport", "nccer"}
    for outcome in summary["vendors"].values():
        assert outcome["status"] == "partially_loaded"
        assert outcome["rows_loaded"] + outcome["rows_rejected"] == outcome["rows_total"] == 300
        with open(outcome["error_report"], newline="") as handle:
            report = list(csv.DictReader(handle))
        assert report and all(row["reason"] for row in report)
    assert summary["event_log"]["intact"]
    audit = summary["audit"]
    assert audit["sampled"] > 0 and audit["checkpoint"]["upheld"]
    manifest = audit["manifest"]
    seed = ("--seed", "01382438112797316654", "--size", "5", "--json")
    rederived = json.loads(credx("audit", "sample", manifest, *seed, env=env).stdout)
    assert rederived["manifest_sha256"] == audit["manifest_sha256"]
    assert len(rederived["items"]) == audit["sampled"]
    checkpoint = audit["checkpoint"]["path"]
    credx("log", "verify", "--checkpoint", checkpoint, env=env)
    stored = summary["stored_files"]
    assert stored["blobs_checked"] == stored["blobs_total"] >= 2 and stored["failures"] == []
    assert summary["badge"]["verified"]["proof_type"] == "DataIntegrityProof eddsa-jcs-2022"
    assert summary["badge"]["altered_refused"] == "bad_signature"
    evidence = summary["evidence"]
    assert evidence["upload"]["status"] == "received"
    assert evidence["same image, another student"]["flags"] == ["duplicate_image"]
    assert evidence["refused"]["code"] == "polyglot"
    assert evidence["auditor"]["flagged"] == 1
    bomb = evidence["sandbox"]  # issue 15: a PDF bomb, refused by the decoders' sandbox
    assert bomb["size"] < 100_000 < (32 << 20) < bomb["inflated"]
    assert (bomb["http_status"], bomb["code"]) == (413, "pdf_too_large_inflated")
    assert bomb["event"]["action"] == "evidence:file:refused"
    assert bomb["event"]["code"] == "pdf_too_large_inflated"
    assert bomb["resident_mb_after"] - bomb["resident_mb_before"] < 16  # never held: 36 MiB
    with open(evidence["auditor"]["preview"], "rb") as preview:
        assert preview.read(8) == b"\x89PNG\r\n\x1a\n"
    web = summary["web"]
    assert (web["upload_status"], web["foreign_district_status"], web["vendor_status"]) == (
        201, 404, 403,
    )  # fmt: skip
    assert web["listed"] == 3  # the two evidence-step uploads and this one, all LA-036
    plan = summary["audit_plan"]  # those 3 uploads, none corroborated: drawn whole
    assert plan["drawn"] == 3 and plan["verified"]
    queue = summary["audit_queue"]  # one verified, one discrepancy confirmed by a 2nd auditor
    assert queue["second_review"] == "confirmed"
    assert queue["verified_task"] != queue["discrepancy_task"]
    roster = summary["roster"]
    assert roster["status"] == "partially_loaded" and roster["rows_rejected"] == 3
    assert roster["rows_loaded"] == roster["rows_total"] - 3 > 0
    corrections = summary["corrections"]  # issue 18: certiport's corrected re-send, a retraction
    loaded = summary["vendors"]["certiport"]["rows_loaded"]
    counts = corrections["counts"]
    assert (counts["superseded"], counts["retracted"]) == (3, 1)
    assert counts["unchanged"] == loaded - 3 and 0 < counts["new"] <= 2
    assert corrections["current_rows"] == corrections["distinct_ids"] == loaded + counts["new"] - 1
    released = json.loads(credx("results", "--state", "LA", "--state", "TN", "--state", "FL",
                                "--recipient", "test", "--purpose", "test", "--json",
                                env=env).stdout)  # fmt: skip
    certiport = [r["vendor_record_id"] for r in released if r["vendor_record_id"][:2] == "CE"]
    assert len(certiport) == len(set(certiport)) == corrections["current_rows"]
    dashboard = summary["dashboard"]  # the pulled files, the re-send, the retraction
    assert dashboard["received"] == 4 and dashboard["late"] == dashboard["missing"] == 0
    deliveries = [*summary["vendors"].values(), corrections["correction"],
                  corrections["retraction"]]  # fmt: skip
    rejected = sum(o["rows_rejected"] for o in deliveries)
    assert (dashboard["rows_total"], dashboard["rows_rejected"]) == (600 + 302 + 1, rejected)
    again = json.loads(credx_process("demo", "--rows", "300", "--json", env=env).stdout)
    assert {o["status"] for o in again["vendors"].values()} == {"duplicate"}
    resent = again["corrections"]  # the same corrected file and retraction: duplicates
    assert {resent["correction"]["status"], resent["retraction"]["status"]} == {"duplicate"}
    assert resent["current_rows"] == corrections["current_rows"]
    # the plan's population stayed frozen; the same seed gives the stored draw
    assert again["audit_plan"]["manifest_sha256"] == plan["manifest_sha256"]
    assert again["audit_plan"]["drawn"] == 3 and again["audit_plan"]["verified"]
