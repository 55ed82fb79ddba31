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
import os
import shutil
import tempfile
from typing import Any

DEFAULT_MASTER = "local[2]"
# Few shuffle partitions: Spark's default 200 makes small local runs slow; a real
# cluster should set spark.sql.shuffle.partitions itself (see README).
LOCAL_SHUFFLE_PARTITIONS = 4
DRIVER_MEMORY = "2g"


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession, started on first use (with the Splink jar)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    from splink.backends.spark import similarity_jar_location

    master = master or os.environ.get("CREDX_LINKAGE_SPARK_MASTER") or DEFAULT_MASTER
    checkpoints = tempfile.mkdtemp(prefix="credx-spark-")
    atexit.register(shutil.rmtree, checkpoints, True)
    session = (
        SparkSession.builder.master(master)
        .appName("credx-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", DRIVER_MEMORY)
        .config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.default.parallelism", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", checkpoints)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(os.path.join(checkpoints, "checkpoints"))
    return session


def database_api() -> Any:
    """Splink's Spark database API over `spark_session()`.

    Intermediate tables are persisted in Spark's memory/disk cache
    (`break_lineage_method="persist"`): without it every step would recompute
    the whole plan from the input.
    """
    from splink.backends.spark import SparkAPI

    session = spark_session()
    partitions = int(session.conf.get("spark.sql.shuffle.partitions"))
    return SparkAPI(
        spark_session=session,
        break_lineage_method="persist",
        num_partitions_on_repartition=partitions,
    )


def stop() -> None:
    """Stop the process's SparkSession (tests; long-lived workers between runs)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
