"""`credx audit plan|manifest|draw|verify-draw|cycle|results` as an operator runs them.

In-process (`tests.cli.credx`) and on SQLite only: the services underneath are
tested on both backends, and a subprocess per command would cost seconds each.
"""

import csv
import json

import pytest
from sqlmodel import select

from audit.manifests import read_manifest
from audit.plans.models import AuditTask
from audit.sampling.tickets import draw
from kernel.database import session_scope
from tests.audit.plans.factories import SEED, finish, make_uploads
from tests.cli import credx

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


CREATE = ("audit", "plan", "create", "la-2025-26", "--state", "LA", "--year", "2025-26")


def test_plan_manifest_draw_verify_and_results(app, cli_env, tmp_path):
    with session_scope(app.engine) as session:
        make_uploads(session, {"036001": 5, "036002": 2})
    created = json.loads(credx(*CREATE, "--fixed-count", "3", "--uncorroborated-rate", "same",
                               "--json", env=cli_env).stdout)  # fmt: skip
    assert created["rates"]["corroborated"] == "3 per school"
    manifest = tmp_path / "manifest.csv"
    frozen = credx("audit", "manifest", "la-2025-26", "--out", str(manifest), env=cli_env)
    digest = read_manifest(manifest).sha256
    assert frozen.stdout.strip().endswith(digest)
    drawn = json.loads(credx("audit", "draw", "la-2025-26", "--seed", SEED, "--json",
                             env=cli_env).stdout)  # fmt: skip
    expected = draw(read_manifest(manifest).items, SEED, 3)
    assert drawn == {"seed": SEED, "manifest_sha256": digest,
                     "items": [{"id": t.id, "stratum": t.stratum, "ticket": t.ticket}
                               for t in expected]}  # fmt: skip
    ok = credx("audit", "verify-draw", "la-2025-26", "--seed", SEED, "--manifest", str(manifest),
               env=cli_env)  # fmt: skip
    assert "5 items in 1 round(s) match" in ok.stdout
    lines = manifest.read_text().splitlines()
    (tmp_path / "edited.csv").write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    bad = credx("audit", "verify-draw", "la-2025-26", "--seed", SEED, "--manifest",
                str(tmp_path / "edited.csv"), env=cli_env, check=4)  # fmt: skip
    assert "differs: manifest" in bad.stderr
    more = credx("audit", "expand", "la-2025-26", "--stratum", "036001/uncorroborated",
                 "--size", "1", "--json", env=cli_env)  # fmt: skip
    assert json.loads(more.stdout)["items"][0]["id"] == draw(read_manifest(manifest).items,
                                                             SEED, 1, already=3)[0].id  # fmt: skip
    shown = credx("audit", "plan", "show", "la-2025-26", env=cli_env).stdout
    assert "uncorroborated: the same rule as the school" in shown and digest in shown
    with session_scope(app.engine) as session:
        for task in session.exec(select(AuditTask)).all():
            finish(session, task)
    closed = json.loads(credx("audit", "cycle", "close", "la-2025-26", "--json",
                              env=cli_env).stdout)  # fmt: skip
    assert [s["level_after"] for s in closed["schools"]] == ["normal", "normal"]
    out = tmp_path / "results.csv"
    credx("audit", "results", "la-2025-26", "--out", str(out), env=cli_env)
    rows = list(csv.DictReader(out.open()))
    assert rows[-1]["scope"] == "state" and rows[-1]["verified"] == "6"
    listed = json.loads(credx("audit", "plan", "list", "--json", env=cli_env).stdout)
    assert listed[0]["final"] == 6 and listed[0]["status"] == "closed"


def test_bad_inputs_are_clear_errors(app, cli_env, tmp_path):
    credx(*CREATE, "--fixed-count", "3", env=cli_env)
    empty = credx("audit", "manifest", "la-2025-26", "--out", str(tmp_path / "m.csv"),
                  env=cli_env, check=1)  # fmt: skip
    assert "the population is empty" in empty.stderr
    not_frozen = credx("audit", "draw", "la-2025-26", "--seed", SEED, env=cli_env, check=1)
    assert "is not frozen" in not_frozen.stderr
    no_seed = credx("audit", "draw", "la-2025-26", "--seed", "", env=cli_env, check=1)
    assert "the seed is empty" in no_seed.stderr
    both = credx(*CREATE, "--fixed-count", "3", "--tolerable", "0.05", env=cli_env, check=1)
    assert "either --fixed-count" in both.stderr
    unknown = credx("audit", "plan", "show", "nope", env=cli_env, check=1)
    assert "no audit plan named 'nope'" in unknown.stderr


def test_results_say_the_bound_in_words_and_a_second_plan_must_supersede(app, cli_env, tmp_path):
    with session_scope(app.engine) as session:
        make_uploads(session, {"036001": 5})
    credx(*CREATE, "--fixed-count", "3", "--uncorroborated-rate", "same", env=cli_env)
    credx("audit", "manifest", "la-2025-26", "--out", str(tmp_path / "m.csv"), env=cli_env)
    credx("audit", "draw", "la-2025-26", "--seed", SEED, env=cli_env)
    with session_scope(app.engine) as session:
        for task in session.exec(select(AuditTask)).all():
            finish(session, task)
    said = credx("audit", "results", "la-2025-26", env=cli_env).stdout
    assert "With 95% confidence, no more than 63.2% of this school's 5 uploads are wrong." in said
    assert "countable: uploads that can be counted" in said
    second = ("audit", "plan", "create", "la-2025-26-b", "--state", "LA", "--year", "2025-26",
              "--fixed-count", "3")  # fmt: skip
    refused = credx(*second, env=cli_env, check=1)
    assert "already has an active audit plan" in refused.stderr and "--supersedes" in refused.stderr
    credx(*second, "--supersedes", "la-2025-26", env=cli_env)
    listed = json.loads(credx("audit", "plan", "list", "--json", env=cli_env).stdout)
    assert {p["plan_id"]: p["status"] for p in listed}["la-2025-26"] == "superseded"
