"""`credx demo` on PostgreSQL: a `pg_dump` of the database names no demo student (issue 16),
while the demo still links, audits and reports."""

import json
import subprocess

import pytest
from sqlalchemy.engine import make_url

from tests.cli import credx_process
from tests.credx.sealed_values import found_in, plaintext_files, students_values


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_pg_dump_of_the_demo_holds_no_student_and_the_demo_still_works(database_url, tmp_path):
    home = tmp_path / "home"
    env = {"CREDX_HOME": str(home), "CREDX_DATABASE_URL": database_url}
    summary = json.loads(credx_process("demo", "--rows", "100", "--json", env=env).stdout)

    la = summary["linkage"]["LA"]  # exam results, roster rows and uploads of one student linked
    assert la["records"] > la["persons"] > 0 and summary["linkage_incremental"]["records"] == 3
    assert summary["audit"]["sampled"] > 0 and summary["audit"]["checkpoint"]["upheld"]
    assert summary["audit_queue"]["second_review"] == "confirmed"
    assert summary["attainment"]["rows"] > 0 and summary["event_log"]["intact"]
    assert summary["roster"]["rows_loaded"] > 0

    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    dump = subprocess.run(["pg_dump", "--no-owner", url], capture_output=True, check=True).stdout
    students = students_values(home, database_url)
    assert len(students) > 100 and b"COPY public.exam_results" in dump
    assert found_in(dump, students, delimited=True) == []
    assert plaintext_files(home) == []
