"""Scoring candidate pairs with Splink: train (or load) the model, predict.

The only module that drives Splink.  Training is reproducible: u values by
random sampling with a fixed seed, m values by EM on fixed blocking rules,
starting from the priors in `linkage.spec`; inputs below
`min_training_records` keep the priors (too few pairs to estimate from).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from splink import Linker, block_on

from kernel.clock import utcnow
from linkage.model import LinkModel
from linkage.normalise import COMPARED, Factorised, Prepared, by_record_id, combined_codes
from linkage.spec import add_blocking_keys, build_settings

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

TRAINING_RULES = (
    ("birth_date", "last_name"),
    ("first_name", "last_name"),
    ("birth_date", "first_name"),
    # the name comparisons read both name columns (swapped names), so every rule above
    # leaves them out: only a rule on neither name trains their m values
    ("state_student_id",),
)
DUCKDB_MEMORY_LIMIT = "1500MB"
# columns no comparison or blocking rule reads (the blocking keys are built from them in
# Python, `spec.add_blocking_keys`): not copied into the engine
PYTHON_ONLY = ("source", "source_person_id", "state", "first_name_key", "last_prefix")
INPUT_TABLE = "credx_records"
GAMMA_COMPARISONS = ("first_name", "last_name", "state_student_id", "birth_date")
EDGE_COLUMNS = [
    "record_id_l",
    "record_id_r",
    "match_probability",
    "match_weight",
    "gamma_first_name",
    "gamma_last_name",
    "gamma_state_student_id",
    "gamma_birth_date",
    "pos_l",  # the records' positions in `Prepared.frame` (sorted by record id)
    "pos_r",
]


@dataclass(frozen=True)
class LinkParameters:
    """Thresholds and limits (from credx settings `linkage_*`)."""

    # None: chosen per run from `target_precision` and `target_recall` (`linkage.thresholds`);
    # a number fixes it (the review band then runs from `review_lower` up to it)
    match_threshold: float | None = None
    review_lower: float = 0.5  # below: neither merged on score nor reviewed
    target_precision: float = 0.999
    target_recall: float = 0.999
    max_cluster_size: int = 50
    max_block_size: int = 5_000
    seed: int = 20261127
    min_training_records: int = 2_000
    # u: 8 comparisons over a cartesian sample of this many pairs; 3e5 pins the common
    # levels (rare ones keep their priors) at a third of the cost of 1e6
    u_sample_pairs: float = 3e5
    predict_chunk_records: int = 2_000_000  # larger inputs are scored in chunks (bounded memory)
    em_max_pairs: float = 2e5
    # DuckDB's limits: beyond the memory it spills to `engine_temp_directory` (None: a
    # directory under the system's temporary one) instead of growing
    engine_memory_limit: str = DUCKDB_MEMORY_LIMIT
    engine_threads: int | None = None  # None: DuckDB's default, one per core
    engine_temp_directory: str | None = None


@dataclass
class Scored:
    edges: pd.DataFrame
    model: LinkModel
    pairs_scored: int
    warnings: list[str] = field(default_factory=list)
    # the sum of match probabilities over every compared pair: the model's estimate of
    # how many true matching pairs the blocking rules bring together
    expected_matches: float = 0.0


def database_api(engine: str, params: LinkParameters | None = None) -> Any:
    """The Splink database API for an engine name (`duckdb`, `spark`)."""
    if engine == "duckdb":
        return _duckdb_api(params or LinkParameters())[0]
    if engine == "spark":
        from linkage import spark

        return spark.database_api()
    raise ValueError(f"unknown linkage engine {engine!r}: use duckdb or spark")


def duckdb_connection(
    memory_limit: str, threads: int | None = None, temp_directory: str | None = None
) -> Any:
    """An in-memory DuckDB connection under these limits, spilling to `temp_directory`
    (default: `credx-duckdb` in the system's temporary directory; DuckDB's own default,
    `.tmp` in the working directory, fills whatever folder a process was started from).
    The benchmark gives its generic baseline the same limits through this function."""
    import duckdb

    spill = temp_directory or os.path.join(tempfile.gettempdir(), "credx-duckdb")
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    if threads is not None:
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute(f"SET temp_directory = '{spill}'")
    return connection


def _duckdb_api(params: LinkParameters) -> tuple[Any, Any]:
    from splink import DuckDBAPI

    connection = duckdb_connection(
        params.engine_memory_limit, params.engine_threads, params.engine_temp_directory
    )
    # DuckDB draws a progress bar on stdout for any query over two seconds: on a busy
    # machine that lands in the middle of `--json` output
    connection.execute("SET enable_progress_bar = false")
    return DuckDBAPI(connection), connection


def _registered(
    engine: str, frame: pd.DataFrame, known: dict[str, Factorised], params: LinkParameters
) -> tuple[Any, Any]:
    """(database API, the records as a Splink table).

    On DuckDB the records are copied into a table once, through Arrow: registered as a
    pandas frame they would be a view, and every training and scoring query would
    convert a million rows of Python strings and lists again.
    """
    frame = frame.drop(columns=[c for c in PYTHON_ONLY if c in frame])
    if engine != "duckdb":
        db_api = database_api(engine)
        return db_api, db_api.register(frame, dataset_display_name=INPUT_TABLE)
    db_api, connection = _duckdb_api(params)
    connection.register("credx_arrow", _arrow(frame, known))
    connection.execute(f"CREATE TABLE {INPUT_TABLE} AS SELECT * FROM credx_arrow")
    connection.unregister("credx_arrow")
    return db_api, db_api.register(INPUT_TABLE)


def inputs_sha256(frame: pd.DataFrame, known: dict[str, Factorised] | None = None) -> str:
    """A hash of the normalised inputs, independent of row order.

    The columns are text or None (`normalise`), which hashes as the string dtype did
    (same digests as before), without converting a million values first.  A column whose
    codes are `known` (per row of `frame`) is hashed as a categorical, as pandas hashes
    text anyway (each distinct value once), without factorising it again.
    """
    selected = frame[["record_id", *COMPARED]]
    ordered = by_record_id(selected)
    if known and ordered is selected:  # the codes fit these rows: `frame` was in order
        ordered = ordered.assign(
            **{
                column: pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object))
                for column, (codes, values) in known.items()
                if column in COMPARED and len(values)
            }
        )
    rows = pd.util.hash_pandas_object(ordered, index=False)
    return hashlib.sha256(rows.to_numpy().tobytes()).hexdigest()


def _input_frame(
    prepared: Prepared, params: LinkParameters
) -> tuple[pd.DataFrame, list[str], dict[str, Factorised]]:
    """The records to score with their blocking keys, the warnings of capped keys, and
    the columns' codes (`Prepared.codes`) when they still fit the rows (empty if not)."""
    # sorted: seeded sampling picks rows by position, so input order must not matter
    frame = by_record_id(prepared.frame)
    # the codes are per row of `prepared.frame`: valid while its order is kept (it is sorted)
    known = prepared.codes if frame is prepared.frame else {}
    frame = frame.reset_index(drop=True)
    warnings = add_blocking_keys(frame, params.max_block_size, known)
    return frame, warnings, known


def _arrow(frame: pd.DataFrame, known: dict[str, Factorised]) -> Any:
    """`frame` as an Arrow table with the values `pa.Table.from_pandas` gives; a text
    column whose codes are known is a dictionary array of its distinct values (DuckDB
    reads it as the same text), not a million Python strings converted one by one."""
    import pyarrow as pa

    coded = {}
    for column, (codes, uniques) in known.items():
        if column not in frame or frame[column].dtype != object or not len(uniques):
            continue
        values = pa.array(np.asarray(uniques, dtype=object), from_pandas=True)
        # text and lists of text only (an all-missing column stays as it was)
        if values.type in (pa.string(), pa.list_(pa.string())):
            indices = pa.array(codes.astype(np.int32 if len(uniques) < 2**31 else np.int64),
                               mask=codes < 0)  # fmt: skip
            coded[column] = pa.DictionaryArray.from_arrays(indices, values)
    rest = pa.Table.from_pandas(frame.drop(columns=list(coded)), preserve_index=False)
    return pa.table({c: coded[c] if c in coded else rest.column(c) for c in frame.columns})


def _any_agree(frame: pd.DataFrame, columns: tuple[str, ...], known: dict[str, Factorised]) -> bool:
    """Whether two records agree on every one of `columns` (none missing); from the
    columns' codes when known (a million strings need not be hashed again per rule)."""
    if not all(c in known for c in columns):
        return bool(frame[list(columns)].dropna().duplicated().any())
    present = np.logical_and.reduce([known[c][0] >= 0 for c in columns])
    key = combined_codes(((known[c][0], len(known[c][1])) for c in columns), len(frame))
    return bool(pd.Series(key[present]).duplicated().any())


def _train(
    linker: Linker,
    records: int,
    params: LinkParameters,
    say: Callable[[str], None],
    agreeing: Mapping[tuple[str, ...], Future[bool]],
) -> bool:
    """Estimate u, then m by EM on each of `TRAINING_RULES` whose `agreeing` (whether two
    records agree on its columns: `_any_agree`, worked out beside the engine) is true."""
    if records < params.min_training_records:
        return False
    say("estimating u values (seeded random sample)")
    linker.training.estimate_u_using_random_sampling(
        max_pairs=params.u_sample_pairs, seed=params.seed, min_count_per_level=None, num_chunks=1
    )
    for columns in TRAINING_RULES:
        say(f"EM on pairs agreeing on {' and '.join(columns)}")
        # Splink raises on a rule with no pairs, and leaves that session's comparisons
        # out of the model: ask first (the columns are the normalised ones it blocks on)
        if not agreeing[columns].result():
            # on the `splink` logger, so `linkage.notices` reports it with Splink's own
            logging.getLogger("splink.credx").warning(
                "training: no two records agree on %s; the m values that rule would "
                "estimate keep their priors",
                " and ".join(columns),
            )
            continue
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*columns),
            estimate_without_term_frequencies=True,
            max_pairs=params.em_max_pairs,
        )
    return True


def score_pairs(
    prepared: Prepared,
    *,
    engine: str,
    model: LinkModel | None,
    params: LinkParameters,
    progress: Callable[[str], None],
    only_new: set[str] | None = None,
) -> Scored:
    """Score the blocked pairs of `prepared`; pairs below `review_lower` are dropped."""
    frame, warnings, known = _input_frame(prepared, params)
    if only_new is not None:
        frame["is_new"] = frame["record_id"].isin(only_new).astype(int)
    if len(frame) < 2:
        empty = pd.DataFrame(columns=EDGE_COLUMNS)
        return Scored(empty, model or _untrained(frame, params), 0, warnings)
    ids = frame["record_id"].to_numpy(dtype=object)
    # the engine sees positions as ids: integer joins, and the edges come back as positions
    # clustering can use without looking a million strings up (`prepared.frame` order)
    db_api, table = _registered(
        engine, frame.assign(record_id=np.arange(len(frame))), known, params
    )
    if model is None:
        model = _fit(table, frame, params, progress, known)
    chunks = max(1, -(-len(frame) // params.predict_chunk_records))
    del frame  # the engine holds the records now; scoring needs the memory
    settings = model.settings if only_new is None else _only_new_pairs(model.settings)
    if engine == "spark":  # a model trained on DuckDB (an incremental run's) speaks its SQL
        from linkage.spark import port_settings

        settings = port_settings(settings)
    linker = Linker(table, settings, log_level=None, validate_settings=False)
    progress("scoring candidate pairs")
    predictions = linker.inference.predict(
        threshold_match_probability=None,  # `_edges` keeps the review band and shared ids
        warning_mode="never",
        num_chunks_left=1,
        num_chunks_right=chunks,
    )
    edges = _edges(linker, table, predictions, params.review_lower)
    expected = linker.misc.query_sql(
        f"SELECT COALESCE(SUM(match_probability), 0) AS m FROM {predictions.physical_name}",
        output_type="pandas",
    )["m"].iloc[0]
    db_api.delete_tables_created_by_splink_from_db()
    pos_l = edges["record_id_l"].to_numpy(dtype=np.int64)
    pos_r = edges["record_id_r"].to_numpy(dtype=np.int64)
    # object columns of the records' own strings: pandas would copy a million ids into
    # Arrow strings, and clustering turn them back into Python strings one by one
    edges = edges.assign(
        record_id_l=pd.Series(ids[pos_l], index=edges.index, dtype=object, copy=False),
        record_id_r=pd.Series(ids[pos_r], index=edges.index, dtype=object, copy=False),
        pos_l=pos_l,
        pos_r=pos_r,
    )
    return Scored(edges, model, len(edges), warnings, float(expected))


def _edges(linker: Linker, table: Any, predictions: Any, review_lower: float) -> pd.DataFrame:
    """The scored pairs with the comparison levels clustering reads (`GAMMA_COMPARISONS`).

    The model retains no compared columns in its predictions (a million pairs of names,
    dates and lists would be carried through scoring); instead the few levels needed are
    computed here, with the model's own level SQL, for the pairs from `review_lower` up,
    and for pairs sharing a state student id or a vendor's candidate id whatever
    their score (one id on two people
    who share nothing else is a question for a reviewer: `clusters.vetoes`).
    """
    wanted = [
        c for c in linker._settings_obj.comparisons if c.output_column_name in GAMMA_COMPARISONS
    ]
    columns = dict.fromkeys(
        name
        for comparison in wanted
        for column in comparison._input_columns_used_by_case_statement
        for name in column.l_r_names_as_l_r
    )
    sql = f"""
        SELECT record_id_l, record_id_r, match_probability, match_weight,
            {", ".join(c._case_statement for c in wanted)}
        FROM (
            SELECT p.record_id_l, p.record_id_r, p.match_probability, p.match_weight,
                {", ".join(columns)}
            FROM {predictions.physical_name} AS p
            JOIN {table.physical_name} AS l ON l.record_id = p.record_id_l
            JOIN {table.physical_name} AS r ON r.record_id = p.record_id_r
            WHERE p.match_probability >= {float(review_lower)!r}
                OR l.state_student_id = r.state_student_id
                OR l.bk_source_person = r.bk_source_person
        )
    """
    return linker.misc.query_sql(sql, output_type="pandas")


def _fit(
    table: Any,
    frame: pd.DataFrame,
    params: LinkParameters,
    progress: Progress,
    known: dict[str, Factorised] | None = None,
) -> LinkModel:
    """A model for `frame` (`known`: its columns' codes): the priors, trained when there
    are enough records."""
    prior = min(0.01, 1 / len(frame))
    # not validated: the settings are credx's own, and the columns `_input_frame` always
    # makes (validating parses every level's SQL again: half a second)
    linker = Linker(
        table,
        build_settings(prior_match_probability=prior),
        log_level=None,
        validate_settings=False,
    )
    # the training rules' pair checks and the inputs' hash are worked out in Python while
    # the engine trains (it releases the GIL): a second and more at a million records
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="credx-training") as beside:
        agreeing: dict[tuple[str, ...], Future[bool]] = {
            columns: beside.submit(_any_agree, frame, columns, known or {})
            for columns in TRAINING_RULES
        }
        digest = beside.submit(inputs_sha256, frame, known)
        trained = _train(linker, len(frame), params, progress, agreeing)
        settings = linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)  # random per Linker; the model's identity is its content
    return LinkModel(
        settings=_rounded(settings),
        inputs_sha256=digest.result(),
        seed=params.seed,
        created=utcnow().isoformat(timespec="seconds"),
        trained=trained,
    )


def _rounded(settings: dict[str, Any]) -> dict[str, Any]:
    """m and u to 10 significant digits: parallel sums differ in the last bits between runs,
    and the same records must give the same model (and model version)."""
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if isinstance(level.get(key), float):
                    level[key] = float(f"{level[key]:.10g}")
    return settings


def _only_new_pairs(settings: dict[str, Any]) -> dict[str, Any]:
    """The model with every blocking rule limited to pairs that involve a new record."""
    rules = []
    for rule in settings["blocking_rules_to_generate_predictions"]:
        sql = rule["blocking_rule"] if isinstance(rule, dict) else rule
        limited = f"({sql}) AND (l.is_new = 1 OR r.is_new = 1)"
        rules.append({**rule, "blocking_rule": limited} if isinstance(rule, dict) else limited)
    return {**settings, "blocking_rules_to_generate_predictions": rules}


def _untrained(frame: pd.DataFrame, params: LinkParameters) -> LinkModel:
    from splink import DuckDBAPI

    settings = build_settings().create_settings_dict("duckdb")
    del DuckDBAPI
    return LinkModel(
        settings=settings,
        inputs_sha256=inputs_sha256(frame),
        seed=params.seed,
        created=utcnow().isoformat(timespec="seconds"),
        trained=False,
    )
