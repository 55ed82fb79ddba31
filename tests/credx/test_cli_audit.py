"""`credx audit size` and `credx audit sample` as operators run them (no `credx init` needed)."""

import json
from pathlib import Path

import pytest

from tests.cli import credx
from tests.factories import write_file

FIXTURES = Path(__file__).parents[1] / "audit" / "fixtures"
SEED = "01382438112797316654"


@pytest.fixture
def bare_env(tmp_path):
    return {"CREDX_HOME": str(tmp_path / "never-initialised")}


SIZE = ("audit", "size", "--confidence", "0.95", "--tolerable", "0.05", "--expected", "0")


def test_size_prints_the_issues_figures(bare_env):
    for population, size in ((None, 59), ("100", 45), ("1000", 57)):
        extra = ("--population", population) if population else ()
        result = json.loads(credx(*SIZE, *extra, "--json", env=bare_env).stdout)
        assert (result["size"], result["allowed_deviations"]) == (size, 0), population
        assert result["reaches_confidence"] and result["risk"] <= 0.05
        assert result["method"] == ("hypergeometric" if population else "binomial")


def test_size_clamps_and_refuses_impossible_rates(bare_env):
    plain = credx(*SIZE, "--maximum", "40", env=bare_env).stdout
    assert "sample size 40 " in plain and "the rule gives 59" in plain
    bad = credx(*SIZE[:-1], "0.06", env=bare_env, check=1)
    assert "expected rate" in bad.stderr


def test_sample_json_matches_the_checked_in_fixture(bare_env):
    expected = json.loads((FIXTURES / "sample-seed-01382438112797316654-size-5.json").read_text())
    manifest = str(FIXTURES / "manifest.csv")
    out = credx("audit", "sample", manifest, "--seed", SEED, "--size", "5", "--json", env=bare_env)
    result = json.loads(out.stdout)
    assert {k: result[k] for k in ("seed", "manifest_sha256", "items")} == {
        k: expected[k] for k in ("seed", "manifest_sha256", "items")
    }
    assert [s["drawn"] for s in result["strata"]] == [5, 5, 4]
    plain = credx("audit", "sample", manifest, "--seed", SEED, "--size", "5", env=bare_env)
    assert expected["manifest_sha256"] in plain.stdout and "AB-130" in plain.stdout


def test_sample_expansion_extends_the_first_round(bare_env):
    manifest = str(FIXTURES / "manifest.csv")
    base = ("audit", "sample", manifest, "--seed", SEED, "--json")

    def ids(*extra):
        return [i["id"] for i in json.loads(credx(*base, *extra, env=bare_env).stdout)["items"]]

    assert set(ids("--size", "8")) == set(ids("--size", "5")) | set(
        ids("--size", "3", "--already-drawn", "5")
    )


def test_sample_refuses_an_empty_seed_or_manifest(bare_env, tmp_path):
    manifest = str(FIXTURES / "manifest.csv")
    empty_seed = credx(
        "audit", "sample", manifest, "--seed", "", "--size", "2", env=bare_env, check=1
    )
    assert "seed is empty" in empty_seed.stderr
    empty = write_file(tmp_path, "empty.csv", "")
    result = credx(
        "audit", "sample", str(empty), "--seed", SEED, "--size", "2", env=bare_env, check=1
    )
    assert "manifest is empty" in result.stderr
    dup = write_file(tmp_path, "dup.csv", "id,stratum\na,s\na,s\n")
    result = credx(
        "audit", "sample", str(dup), "--seed", SEED, "--size", "2", env=bare_env, check=1
    )
    assert "line 3" in result.stderr
