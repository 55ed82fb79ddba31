"""`credx link ...` as operators run it: a real subprocess, real exit codes, real JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli import credx
from tests.linkage.exams import ingest_records
from tests.linkage.records import ERROR_PAIRS, STRANGERS, TWINS, all_fixtures

# Each command is a subprocess that starts Splink (seconds): one backend here; the
# services behind the commands are tested on SQLite and PostgreSQL in test_service.py.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_link_file_writes_one_row_per_input_row_even_for_bad_values(cli_env, tmp_path):
    records = all_fixtures().assign(gender="", postcode="")
    bad = pd.DataFrame(
        [
            {"record_id": "n1", "first_name": "", "last_name": "", "birth_date": "2008-02-30"},
            {"record_id": "", "first_name": "Ann", "last_name": "Lee", "birth_date": "garbage"},
        ]
    )
    source = tmp_path / "roster.csv"
    pd.concat([records, bad]).to_csv(source, index=False)
    out = tmp_path / "persons.csv"
    result = credx("link", "file", str(source), "--out", str(out), "--json", env=cli_env)
    summary = json.loads(result.stdout)
    linked = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(linked.columns) == ["record_id", "person_id"]
    assert len(linked) == summary["rows"] == len(records) + 2
    assert list(linked["record_id"]) == [*records["record_id"], "n1", ""]
    person = dict(zip(linked["record_id"][:-2], linked["person_id"][:-2], strict=True))
    assert person["n1"] == person["n2"] and person["t1"] != person["t2"]
    assert linked["person_id"].iloc[-2] != person["n1"]  # the repeated, empty record_id n1
    assert summary["persons"] == linked["person_id"].nunique()


def test_link_file_reads_parquet(cli_env, tmp_path):
    source = tmp_path / "roster.parquet"
    all_fixtures().to_parquet(source, index=False)
    out = tmp_path / "persons.parquet"
    credx("link", "file", str(source), "--out", str(out), env=cli_env)
    assert len(pd.read_parquet(out)) == len(all_fixtures())


def test_run_review_decide_show(app, cli_env, tmp_path):
    ingest_records(app, tmp_path, [*ERROR_PAIRS["nickname"], *TWINS, *STRANGERS])
    [run] = json.loads(credx("link", "run", "--state", "LA", "--json", env=cli_env).stdout)
    assert (run["records"], run["persons"], run["kind"]) == (7, 6, "full")  # two John Does
    [pair] = json.loads(credx("link", "review", "--json", env=cli_env).stdout)
    assert {pair["left"]["first_name"], pair["right"]["first_name"]} == {"Emma", "Olivia"}
    decided = credx("link", "decide", str(pair["pair_id"]), "--different", "--json", env=cli_env)
    assert json.loads(decided.stdout)["constraint"] == "cannot_link"
    [rerun] = json.loads(credx("link", "run", "--incremental", "--json", env=cli_env).stdout)
    assert (rerun["kind"], rerun["records"], rerun["review_pairs"]) == ("incremental", 0, 0)
    pid = _person_of(app, "Bill")
    shown = json.loads(credx("link", "show", pid, "--json", env=cli_env).stdout)
    assert shown["person_id"] == pid
    assert sorted(r["first_name"] for r in shown["records"]) == ["Bill", "William"]


def _person_of(app, first_name: str) -> str:
    from sqlmodel import select

    from exchange.models import ExamResult
    from kernel.database import session_scope
    from linkage.models import PersonRecord

    with session_scope(app.engine) as session:
        # names are sealed in the database: no SQL equality on them, a look in memory instead
        [row] = [r for r in session.exec(select(ExamResult)) if r.first_name == first_name]
        key = f"{row.delivery_id}:{row.row_number}"
        return (
            session.exec(select(PersonRecord).where(PersonRecord.source_key == key)).one().person_id
        )
