"""Bad input: no crash, no runaway pairs, one cluster per input record."""

import pandas as pd

from linkage.engine import LinkParameters, link_records
from tests.linkage.records import all_fixtures, rec


def test_empty_names_impossible_dates_and_an_empty_column():
    records = pd.DataFrame(
        [
            rec("a", "", "", "2008-02-30"),
            rec("b", None, "Smith", "not a date"),
            rec("c", "Ann", None, "13/45/2008"),
            rec("d", "  ", "!!", ""),
            rec("e", "Ann", "Smith", "1850-01-01"),
        ]
    ).assign(school_code=None)
    result = link_records(records)
    assert sorted(result.clusters) == ["a", "b", "c", "d", "e"]
    assert result.persons() == 5


def test_a_single_record_and_no_records():
    assert link_records(pd.DataFrame([rec("only", "Ann", "Lee", "2008-01-01")])).clusters == {
        "only": "only"
    }
    assert link_records(pd.DataFrame(columns=["record_id"])).clusters == {}


def test_non_latin_scripts_pass_through_and_link():
    """Korean and Cyrillic names are compared as Latin ones are: each pair gets exactly the
    outcome of the same pair written in Latin letters.  (On priors, a name and birth date at
    two schools is about 0.993, under the 0.999 target precision: all three go to review
    together, or merge together under a lower target.)"""
    records = pd.DataFrame(
        [
            rec("k1", "민준", "김", "2008-05-05"),
            rec("k2", "민준", "김", "2008-05-05", school_code="7"),
            rec("r1", "Дмитрий", "Иванов", "2008-07-07"),
            rec("r2", "Дмитрий", "Иванов", "2008-07-07", school_code="8"),
            rec("l1", "Minjun", "Kim", "2008-09-09"),
            rec("l2", "Minjun", "Kim", "2008-09-09", school_code="9"),
            rec("r3", "Zoë", "Ångström", "2008-01-01"),
            rec("r4", "Zoe", "Angstrom", "2008-01-01"),
        ]
    )
    result = link_records(records)
    outcome = {}
    for left, right in (("k1", "k2"), ("r1", "r2"), ("l1", "l2")):
        reviewed = result.review_pairs[(result.review_pairs["record_id_l"] == left)
                                       & (result.review_pairs["record_id_r"] == right)]  # fmt: skip
        merged = result.clusters[left] == result.clusters[right]
        assert merged or len(reviewed) == 1, (left, right)  # found either way, never lost
        outcome[left] = (merged, round(float(reviewed["match_probability"].sum()), 6))
    assert outcome["k1"] == outcome["r1"] == outcome["l1"]
    assert result.clusters["r3"] == result.clusters["r4"]  # accents folded: merged outright


def test_degenerate_block_is_capped_with_a_warning():
    """20,000 copies of one record plus near-copies: capped blocks, one person, fast."""
    copies = pd.DataFrame([rec("x", "Ann", "Lee", "2008-01-01")] * 20_000)
    copies["record_id"] = [f"c{i}" for i in range(len(copies))]
    copies.loc[::2, "school_code"] = [str(i) for i in range(10_000)]
    records = pd.concat([copies, all_fixtures()], ignore_index=True)
    params = LinkParameters(max_block_size=1_000, min_training_records=10**9)  # priors: fast
    result = link_records(records, parameters=params)
    assert len(result.clusters) == len(records)
    assert any("skips them" in w for w in result.warnings)
    assert len({result.clusters[f"c{i}"] for i in range(1, 20_000, 2)}) == 1


def test_100000_copies_of_one_record_are_one_person():
    copies = pd.DataFrame([rec("x", "Ann", "Lee", "2008-01-01")] * 100_000)
    copies["record_id"] = [f"c{i}" for i in range(len(copies))]
    result = link_records(pd.concat([copies, all_fixtures()], ignore_index=True))
    assert len(result.clusters) == 100_000 + len(all_fixtures())
    assert len({result.clusters[f"c{i}"] for i in range(100_000)}) == 1
    assert any("exact copies" in w for w in result.warnings)
