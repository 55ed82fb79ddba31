"""Pairwise precision and recall of a clustering against a truth (for accuracy floors)."""

from __future__ import annotations

import pandas as pd


def pairwise(truth: pd.Series, clusters: dict[str, str]) -> tuple[float, float]:
    """(precision, recall) over record pairs; `truth` is indexed by record id."""
    frame = pd.DataFrame({"t": truth, "c": pd.Series(clusters).reindex(truth.index)})

    def pairs(sizes: pd.Series) -> float:
        return float((sizes * (sizes - 1) / 2).sum())

    together = pairs(frame.groupby(["t", "c"]).size())
    found, true = pairs(frame.groupby("c").size()), pairs(frame.groupby("t").size())
    return (together / found if found else 1.0, together / true if true else 1.0)
