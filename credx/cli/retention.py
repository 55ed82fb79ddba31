"""`credx agreements purge` and `credx agreements verify-certificate`."""

from __future__ import annotations

from credx.cli.agreements import app  # noqa: F401  (commands register on the agreements group)
