"""Reproducible training: the same records (in any order) give the same model and persons."""

import pandas as pd
import pytest

from linkage.engine import LinkParameters, link_records
from linkage.synthetic import generate

PARAMS = LinkParameters(min_training_records=1_000, u_sample_pairs=2e5, em_max_pairs=2e5)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return generate(3_000, seed=11).records


@pytest.fixture(scope="module")
def trained(population):
    return link_records(population.drop(columns=["true_person_id"]), parameters=PARAMS)


def test_training_is_reproducible(population, trained):
    shuffled = population.drop(columns=["true_person_id"]).sample(frac=1, random_state=5)
    again = link_records(shuffled, parameters=PARAMS)
    assert trained.model.trained
    assert again.model.version == trained.model.version
    assert again.model.inputs_sha256 == trained.model.inputs_sha256
    assert again.clusters == trained.clusters


def test_trained_model_links_the_synthetic_population_well(population, trained):
    """Pairwise precision and recall against the generator's truth (a floor, not the target)."""
    truth = population.set_index("record_id")["true_person_id"]
    found = pd.Series(trained.clusters)

    def pairs(labels: pd.Series) -> set[tuple[str, str]]:
        out = set()
        for ids in labels.groupby(labels).groups.values():
            ordered = sorted(ids)
            out.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
        return out

    predicted, true = pairs(found), pairs(truth.loc[found.index])
    hits = len(predicted & true)
    assert hits / len(predicted) > 0.97 and hits / len(true) > 0.95


def test_weak_evidence_raises_the_chosen_threshold_and_widens_review(population, trained):
    """The threshold is chosen per run from the target precision (`linkage.thresholds`):
    the same people without state ids, schools and full birth dates give the model less
    to go on, so it merges from a higher probability and asks reviewers about more."""
    weak = population.drop(columns=["true_person_id"]).assign(
        state_student_id=None, school_code=None, birth_date=population["birth_date"].str[:4]
    )
    guessing = link_records(weak, parameters=PARAMS)
    assert trained.match_threshold < guessing.match_threshold
    uncertain = [run.review_reasons().get("uncertain", 0) for run in (trained, guessing)]
    assert uncertain[0] < uncertain[1]
    for run in (trained, guessing):
        assert run.review_lower <= run.match_threshold
