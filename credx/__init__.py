"""credx: secure exchange and audit of industry-recognized credential records.

This package is the application shell (settings, database, migrations, CLI,
demo); the domain lives in `exchange`, `schemas`, `agreements` and `audit`.
"""

__version__ = "0.1.0"
