"""credx: secure exchange and audit of industry-recognized credential records.

This package is the application shell (settings, database, migrations, CLI,
demo); the domain lives in `exchange`, `schemas`, `agreements` and `audit`.
"""

import warnings

__version__ = "0.1.0"

# pandera imports pyspark whenever it is installed (the `spark` extra), and
# pyspark then warns on every command that it does not fully support pandas 3.
# credx never uses pyspark.pandas, so the warning would only alarm operators.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
