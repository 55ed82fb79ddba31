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
