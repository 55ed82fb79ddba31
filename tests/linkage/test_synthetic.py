"""The synthetic population generator: deterministic, truthful, errors at their rates."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.columns import CANONICAL_COLUMNS
from linkage.synthetic import (
    VENDORS,
    ErrorRates,
    PopulationSpec,
    generate,
    nickname_table,
    surname_table,
)

RECORDS = 40_000


@pytest.fixture(scope="module")
def population():
    return generate(RECORDS, seed=5)


@pytest.fixture(scope="module")
def truth_of(population):
    """Each record beside its person's true values (suffix `_true`)."""
    return population.records.merge(
        population.persons, on="true_person_id", suffixes=("", "_true"), validate="many_to_one"
    )


def test_same_seed_same_frame_and_another_seed_another():
    first, again, other = generate(3_000, seed=9), generate(3_000, seed=9), generate(3_000, seed=10)
    pd.testing.assert_frame_equal(first.records, again.records)
    pd.testing.assert_frame_equal(first.errors, again.errors)
    assert not first.records.equals(other.records)


def test_frame_has_the_canonical_columns_and_unique_ids(population):
    records = population.records
    assert list(records.columns) == [*CANONICAL_COLUMNS, "true_person_id"]
    assert len(records) == RECORDS
    assert records["record_id"].is_unique
    assert records["true_person_id"].isin(population.persons["true_person_id"]).all()
    assert records["birth_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert pd.to_datetime(records["birth_date"], format="%Y-%m-%d").notna().all()  # all valid


def test_ground_truth_is_consistent(population, truth_of):
    persons = population.persons
    assert persons["true_person_id"].is_unique
    assert persons["state_student_id"].is_unique
    mean = RECORDS / population.records["true_person_id"].nunique()
    assert 2.2 < mean < 2.8
    # a person's records stay in the person's state, and school unless they moved
    assert (truth_of["state"] == truth_of["state_true"]).all()
    stayed = ~population.errors["school_changed"]
    assert (truth_of.loc[stayed, "school_code"] == truth_of.loc[stayed, "school_code_true"]).all()
    moved = truth_of[population.errors["school_changed"]]
    assert (moved["school_code"].str[:3] == moved["district_code"]).all()
    # every record without an error in a field carries the person's true value there
    clean = ~population.errors.any(axis=1)
    plain = clean & (truth_of["first_name"] == truth_of["first_name"].str.upper()).eq(False)
    assert (truth_of.loc[plain, "first_name"] == truth_of.loc[plain, "first_name_true"]).all()
    assert (
        truth_of.loc[clean, "birth_date"]
        == truth_of.loc[clean, "birth_date_true"].dt.strftime("%Y-%m-%d")
    ).all()
    with_id = clean & (truth_of["state_student_id"] != "")
    assert (
        truth_of.loc[with_id, "state_student_id"] == truth_of.loc[with_id, "state_student_id_true"]
    ).all()


@pytest.mark.parametrize(
    ("process", "rate_field"),
    [
        ("first_name_typo", "first_name_typo"),
        ("last_name_typo", "last_name_typo"),
        ("hyphenated_surname", "hyphenated_surname"),
        ("changed_surname", "changed_surname"),
        ("names_swapped", "names_swapped"),
        ("birth_year_off", "birth_year_off"),
        ("birth_digit_slip", "birth_digit_slip"),
        ("school_changed", "school_changed"),
    ],
)
def test_each_error_process_occurs_at_its_rate(population, process, rate_field):
    rate = getattr(ErrorRates(), rate_field)
    observed = population.errors[process].mean()
    # binomial standard error at 40,000 records is about 0.001 for these rates
    assert observed == pytest.approx(rate, abs=max(0.004, rate * 0.25))


def test_rates_among_eligible_records(population, truth_of):
    errors, rates = population.errors, ErrorRates()
    has_nickname = truth_of["first_name_true"].isin(nickname_table().keys())
    assert errors.loc[has_nickname, "nickname"].mean() == pytest.approx(rates.nickname, abs=0.01)
    assert not errors.loc[~has_nickname, "nickname"].any()
    born = truth_of["birth_date_true"]
    swappable = (born.dt.day <= 12) & (born.dt.day != born.dt.month)
    assert errors.loc[swappable, "day_month_swapped"].mean() == pytest.approx(
        rates.day_month_swapped, abs=0.01
    )
    vendor = population.records["source"] != "district"
    assert errors.loc[vendor, "ssid_missing"].mean() == pytest.approx(
        rates.ssid_missing_vendor, abs=0.02
    )
    assert errors.loc[~vendor, "ssid_missing"].mean() == pytest.approx(
        rates.ssid_missing_district, abs=0.01
    )


def test_errors_change_what_they_say(truth_of, population):
    errors = population.errors
    rows = truth_of[errors["nickname"] & ~errors["names_swapped"] & ~errors["first_name_typo"]]
    nicks = nickname_table()
    assert all(row.first_name.title() in nicks[row.first_name_true] for row in rows.itertuples())
    swapped = truth_of[errors["day_month_swapped"] & ~errors["birth_year_off"]]
    true_dates = swapped["birth_date_true"]
    expected = (
        true_dates.dt.year.astype(str) + "-" + true_dates.dt.day.map("{:02d}".format)
        + "-" + true_dates.dt.month.map("{:02d}".format)
    )  # fmt: skip
    assert (swapped["birth_date"] == expected).all()
    hyphenated = truth_of[
        errors["hyphenated_surname"] & ~errors["names_swapped"] & ~errors["last_name_typo"]
    ]
    parts = hyphenated["last_name"].str.lower().str.split("-")
    assert len(hyphenated) > 100
    assert all(
        true.lower() in found
        for true, found in zip(hyphenated["last_name_true"], parts, strict=True)
    )
    assert parts.map(len).ge(2).all()
    typo = truth_of[errors["ssid_typo"]]
    assert (typo["state_student_id"] != typo["state_student_id_true"]).all()
    assert (typo["state_student_id"].str.len() == 10).all()


def test_twins_share_birth_date_surname_and_home_but_not_first_name_or_id(population):
    persons = population.persons.set_index("true_person_id")
    twins = persons[persons["twin_of"] != ""]
    assert len(twins) > 100
    sibling = persons.loc[twins["twin_of"]]
    for column in ("last_name", "birth_date", "address", "school_code"):
        assert (twins[column].to_numpy() == sibling[column].to_numpy()).all()
    assert (twins["first_name"].to_numpy() != sibling["first_name"].to_numpy()).all()
    assert (twins["state_student_id"].to_numpy() != sibling["state_student_id"].to_numpy()).all()


def test_vendor_numbering_retakes_and_duplicate_candidates(population):
    records, errors = population.records, population.errors
    vendor = records[records["source"].isin(VENDORS)]
    assert vendor["source_person_id"].str.len().gt(0).all()
    ids = vendor[~errors.loc[vendor.index, "duplicate_candidate"]]
    # one candidate id per (vendor, person): never shared by two persons
    assert ids.groupby(["source", "source_person_id"])["true_person_id"].nunique().max() == 1
    retakes = ids.groupby(["source", "source_person_id"]).size()
    assert (retakes > 1).mean() > 0.15  # retakes under one candidate id are common
    # the same person is numbered differently by each vendor
    per_person = ids.groupby("true_person_id")["source_person_id"].nunique()
    assert per_person.max() > 1
    assert errors["duplicate_candidate"].mean() == pytest.approx(
        PopulationSpec().duplicate_candidate_rate * len(vendor) / len(records), abs=0.005
    )
    district = records[records["source"] == "district"]
    assert (district["source_person_id"] == "").all()


def test_name_frequencies_are_realistic(population):
    _surnames, probs = surname_table()
    assert probs.sum() == pytest.approx(1.0)
    counts = population.persons["last_name"].value_counts()
    assert counts.index[0] == "Smith"
    assert counts["Garcia"] > 10 * counts.median()
    assert counts["Nguyen"] > 5 * counts.median()
    assert len(counts) > 0.3 * len(population.persons)  # a long tail of rare surnames


def test_sources_and_sizes():
    records = generate(1_000, seed=1).records
    assert len(records) == 1_000
    assert set(records["source"]) == {*VENDORS, "district"}
    assert len(generate(0, seed=1).records) == 0
    assert len(generate(1, seed=1).records) == 1
