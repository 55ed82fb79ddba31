"""What Splink warns about reaches the run's JSON and its event; stderr stays clean.

On main before issue 17, `Level ... not observed` went to stderr through logging's
last resort while the JSON `warnings` list stayed empty.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from eventlog.models import Event
from kernel.database import session_scope
from linkage.engine import LinkParameters
from linkage.events import LinkageEvent
from linkage.service import link_state
from linkage.synthetic import generate
from tests.cli import credx_process
from tests.linkage.exams import ingest_records
from tests.linkage.records import ERROR_PAIRS, STRANGERS, TWINS


def _events(app, action: LinkageEvent) -> list[dict]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(Event).where(Event.action == str(action)))
        return [json.loads(e.payload) for e in rows]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_link_file_reports_engine_warnings_in_json_and_event_not_on_stderr(app, cli_env, tmp_path):
    """A normal run of the console script: a roster big enough to train on."""
    source = tmp_path / "roster.csv"
    generate(2_600, seed=7).records.drop(columns=["true_person_id"]).to_csv(source, index=False)
    done = credx_process(
        "link", "file", str(source), "--out", str(tmp_path / "out.csv"), "--json",
        env=cli_env, timeout=300,
    )  # fmt: skip
    assert done.stderr == ""
    warnings = json.loads(done.stdout)["warnings"]
    assert any("was not observed in the training pairs" in w for w in warnings), warnings
    [event] = _events(app, LinkageEvent.LINK_FILE_LINKED)
    assert event["warnings"] == warnings
    summary = json.loads(done.stdout)  # the review load and the model's own estimates
    assert sum(summary["review_reasons"].values()) == summary["review_pairs"]
    assert 0.9 < summary["estimated_precision"] <= 1 and 0.9 < summary["estimated_recall"] <= 1
    assert event["review_reasons"] == summary["review_reasons"]
    # the threshold this run chose from the target precision, in the JSON and the event
    assert 0.5 <= summary["review_lower"] <= summary["match_threshold"] < 1
    assert event["match_threshold"] == summary["match_threshold"]


def test_a_database_run_keeps_the_engine_warnings_in_its_summary_and_event(app, tmp_path, capfd):
    ingest_records(app, tmp_path, [*ERROR_PAIRS["nickname"], *TWINS, *STRANGERS])
    trains_on_few = LinkParameters(min_training_records=4)  # EM on 7 records: levels unseen
    with session_scope(app.engine) as session:
        summary = link_state(session, state="LA", params=trains_on_few, actor="test")
    assert any("not observed" in w for w in summary.warnings)
    [event] = _events(app, LinkageEvent.LINK_RUN_FINISHED)
    assert event["warnings"] == list(summary.warnings)
    assert "not observed" not in capfd.readouterr().err
