"""The `credx` command: a thin shell over the packages' services.

Exit codes: 0 success; 1 a user-facing error (the message says what to do);
2 wrong usage; 3 `ingest` finished but the delivery was rejected or
quarantined; 4 `log verify` found the chain broken, or a certificate of
destruction is not genuine.
"""

from __future__ import annotations

import os
import sys

import typer

from credx.cli import (
    agreements,
    audit,
    connectors,
    credentials,
    deliveries,
    demo,
    disclosures,
    keys,
    link,
    log,
    report,
    retention,  # noqa: F401  (registers purge and verify-certificate)
    roster,
    serve,
    setup,
    tokens,
    vendors,
    worker,
)
from credx.cli.common import err_console
from kernel.errors import CredxError

app = typer.Typer(
    name="credx",
    help="Secure exchange and audit of industry-recognized credential records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(setup.init)
app.command("demo")(demo.demo)
app.command("ingest")(deliveries.ingest)
app.command("sweep")(deliveries.sweep_command)
app.command("rejections")(deliveries.rejections)
app.command("results")(disclosures.results)
app.command("disclosures")(disclosures.disclosures)
app.command("worker")(worker.worker)
app.command("serve")(serve.serve)
app.add_typer(vendors.app, name="vendors", help="Register and list credentialing vendors.")
app.add_typer(agreements.app, name="agreements", help="Data-sharing agreements and templates.")
app.add_typer(connectors.app, name="connectors", help="Where vendors' files are pulled from.")
app.add_typer(credentials.app, name="credentials", help="The credential-code registry.")
app.add_typer(deliveries.app, name="deliveries", help="Files received from vendors.")
app.add_typer(keys.app, name="keys", help="Master keys for blob encryption.")
app.add_typer(log.app, name="log", help="The hash-chained event log.")
app.add_typer(audit.app, name="audit", help="Audit plans, draws and results.")
app.add_typer(tokens.app, name="tokens", help="API tokens: roles and tenants.")
app.add_typer(roster.app, name="roster", help="States' student rosters and school lists.")
app.add_typer(report.app, name="report", help="Attainment reporting: priority lists.")
app.add_typer(link.app, name="link", help="The record linker: one person per student.")


def main() -> None:
    os.umask(0o077)  # files credx writes (database, blobs, reports) are for its own user only
    try:
        app()
    except CredxError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        if exc.hint:
            err_console.print(exc.hint)
        sys.exit(1)
