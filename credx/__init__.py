"""credx: secure exchange and audit of industry-recognized credential records.

This package is the shell: the composition root (`credx.app`), the CLI, the
demo, the migrations and the worker's job table.  The ground it stands on is
`kernel` and `eventlog`; the domains are `schemas`, `agreements`, `access`,
`exchange`, `rosters`, `linkage`, `retention`, `audit` and `reports`
(`.importlinter` holds the layers).  The version is the installed
distribution's (`credx version`).
"""

import warnings

# pandera imports pyspark whenever it is installed (the `spark` extra), and
# pyspark then warns on every command that it does not fully support pandas 3.
# credx never uses pyspark.pandas, so the warning would only alarm operators.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
