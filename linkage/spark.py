"""Spark as the linkage engine, for a consortium whose records outgrow one machine.

The model is the same (`linkage.spec.build_settings`); only Splink's database API
changes.  `database_api()` gives Splink a SparkSession that has Splink's
similarity UDF jar (Jaro-Winkler, Damerau-Levenshtein, ... as Scala functions,
shipped inside the splink wheel for Spark 4) on its classpath.

One SparkSession serves the whole process: starting a JVM costs seconds, and
Spark allows one SparkContext per process anyway.  Where it runs is Spark's
own business: `CREDX_LINKAGE_SPARK_MASTER` (default `local[2]`, every core of
this kind of machine) or a session the caller already started (`spark-submit`,
a notebook), which is reused as it is.
"""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
import warnings
from typing import Any

from kernel.errors import CredxError

DEFAULT_MASTER = "local[2]"
# Few shuffle partitions: Spark's default 200 makes small local runs slow; a real
# cluster should set spark.sql.shuffle.partitions itself (see the manual, "Record linkage").
LOCAL_SHUFFLE_PARTITIONS = 4
# local mode runs everything in the driver JVM: 4g ran out of heap scoring 100,000
# records, 6g did not; SPARK_DRIVER_MEMORY (Spark's own variable) overrides it
DRIVER_MEMORY = "6g"


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession, started on first use (with the Splink jar)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as missing:
        raise CredxError(
            "the Spark linkage engine needs pyspark: pip install 'credx[spark]' "
            "(and Java 17 or later), or link with --engine duckdb"
        ) from missing
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or os.environ.get("CREDX_LINKAGE_SPARK_MASTER") or DEFAULT_MASTER
    if master.startswith("local"):  # keep the driver on loopback, not the first interface
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # pyspark 4 warns on every pandas conversion that pandas 3 is "not yet fully
    # supported"; the columns credx hands over are plain strings and lists
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    try:
        session = _builder(SparkSession.builder, master).getOrCreate()
    except Exception as failed:  # pyspark raises its own types for a missing or old Java
        raise CredxError(
            f"could not start Spark (master {master}): {failed}. The Spark engine needs "
            "Java 17 or later on PATH (or JAVA_HOME); check `java -version`"
        ) from failed
    session.sparkContext.setLogLevel("ERROR")
    return session


def _builder(builder: Any, master: str) -> Any:
    from splink.backends.spark import similarity_jar_location

    scratch = tempfile.mkdtemp(prefix="credx-spark-")
    atexit.register(shutil.rmtree, scratch, True)
    return (
        builder.master(master)
        .appName("credx-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", DRIVER_MEMORY))
        .config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.default.parallelism", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", scratch)
    )


def database_api() -> Any:
    """Splink's Spark database API over `spark_session()`.

    Temporary views left by an earlier run in this process are dropped first.
    Intermediate tables are persisted in Spark's memory/disk cache
    (`break_lineage_method="persist"`): without it every step would recompute
    the whole plan from the input.
    """
    from splink.backends.spark import SparkAPI

    session = spark_session()
    # each run registers its input under a fixed name: the previous run's view must go
    # (one linkage run at a time per process, as the CLI and worker do)
    for table in session.catalog.listTables():
        if table.isTemporary:
            session.catalog.dropTempView(table.name)
    partitions = int(session.conf.get("spark.sql.shuffle.partitions"))
    return SparkAPI(
        spark_session=session,
        break_lineage_method="persist",
        num_partitions_on_repartition=partitions,
    )


def port_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A saved model's Splink settings rewritten for Spark SQL, trained values kept.

    A model is saved with SQL in the dialect it was trained on (DuckDB: double-quoted
    identifiers, `jaro_winkler_similarity`, `list_intersect`); Spark reads double
    quotes as strings and names those functions differently.  So each comparison
    level's SQL is rebuilt for Spark from `linkage.spec.build_settings` (the one
    definition of the model; levels are matched by position and label) and the
    blocking rules, plain column equalities, are transpiled.  m and u values,
    term-frequency settings and the prior stay as trained.
    """
    import sqlglot

    from linkage.spec import build_settings

    source = settings.get("sql_dialect", "duckdb")
    if source == "spark":
        return settings
    fresh = build_settings().create_settings_dict("spark")
    ported = copy.deepcopy(settings)
    _port_comparisons(ported["comparisons"], fresh["comparisons"])
    for rule in ported.get("blocking_rules_to_generate_predictions", []):
        rule["blocking_rule"] = sqlglot.transpile(
            rule["blocking_rule"], read=source, write="spark"
        )[0]
        rule["sql_dialect"] = "spark"
    ported["sql_dialect"] = "spark"
    return ported


def _port_comparisons(saved: list[dict], fresh: list[dict]) -> None:
    """Take each level's `sql_condition` from the Spark build of the same model."""
    shape = [(c["output_column_name"], len(c["comparison_levels"])) for c in saved]
    if shape != [(c["output_column_name"], len(c["comparison_levels"])) for c in fresh]:
        raise ValueError(
            "this linkage model was built by another version of credx's comparisons and "
            "cannot be ported to Spark; re-train it with --engine spark"
        )
    for comparison, spark_comparison in zip(saved, fresh, strict=True):
        levels = zip(
            comparison["comparison_levels"], spark_comparison["comparison_levels"], strict=True
        )
        for level, spark_level in levels:
            level["sql_condition"] = spark_level["sql_condition"]


def stop() -> None:
    """Stop the process's SparkSession (tests; long-lived workers between runs)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
