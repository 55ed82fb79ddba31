"""The `credx` command: a thin shell over the packages' services.

Exit codes: 0 success; 1 a user-facing error (the message says what to do,
then a hint names the command to run, where there is one); 2 wrong usage;
3 `ingest` or `roster import` finished but the file was rejected or
quarantined; 4 a check failed: `log verify` found the chain broken or a
checkpoint not upheld, `keys check` found a stored file that does not
decrypt, `audit verify-draw` found the draw differs, or a certificate of
destruction is not genuine.

Each command's module is imported only when that command runs (`COMMANDS`,
`credx.cli.lazy`): `credx --help` and `credx version` load no domain package.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text

from credx.cli.common import close_apps, err_console
from credx.cli.lazy import Lazy, LazyGroup
from kernel.errors import CredxError

# name -> where the command lives and its help line, in the order `credx --help` lists them
COMMANDS = {
    "init": Lazy("setup:init", "Create the home, the master key (mode 0600) and the database; "
                 "re-running is safe."),
    "demo": Lazy("demo:demo", "Run the whole product on demo data in CREDX_HOME (default ./var)."),
    "ingest": Lazy("deliveries:ingest", "Ingest one vendor file: store it encrypted, validate "
                   "every row, load the good ones."),
    "sweep": Lazy("deliveries:sweep_command", "Ingest every settled file in a vendor's drop "
                  "folder, then delete the plaintext copies."),
    "rejections": Lazy("deliveries:rejections", "Per-row error report of a delivery: row number, "
                       "column, value as received, reason."),
    "results": Lazy("disclosures:results", "Release student-level exam results of the given "
                    "states as a recorded disclosure."),
    "disclosures": Lazy("disclosures:disclosures", "Every recorded disclosure that named this "
                        "student."),
    "worker": Lazy("worker:worker", "Run scheduled pulls and the daily retention purge."),
    "serve": Lazy("serve:serve", "Serve the web pages and the API (/api/v1, docs at /docs)."),
    "vendors": Lazy("vendors:app", "Register and list credentialing vendors."),
    "agreements": Lazy("agreements:app", "Data-sharing agreements and templates."),
    "connectors": Lazy("connectors:app", "Where vendors' files are pulled from."),
    "credentials": Lazy("credentials:app", "The credential-code registry."),
    "deliveries": Lazy("deliveries:app", "Files received from vendors."),
    "keys": Lazy("keys:app", "Master keys for blob encryption."),
    "log": Lazy("log:app", "The hash-chained event log."),
    "audit": Lazy("audit:app", "Audit plans, draws and results."),
    "tokens": Lazy("tokens:app", "API tokens: roles and tenants."),
    "roster": Lazy("roster:app", "States' student rosters and school lists."),
    "report": Lazy("report:app", "Attainment reporting: priority lists."),
    "link": Lazy("link:app", "The record linker: one person per student."),
    "version": Lazy("version:version", "Print the installed credx version."),
    "notifications": Lazy("notifications:app", "Emails and webhooks: outbox, contacts, opt-outs."),
}  # fmt: skip


class CredxGroup(LazyGroup):
    lazy = COMMANDS

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        finally:
            close_apps()  # one process may run several commands (the tests run them in-process)


app = typer.Typer(
    cls=CredxGroup,
    name="credx",
    help="Secure exchange and audit of industry-recognized credential records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from credx.cli.version import installed_version

        typer.echo(f"credx {installed_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version,
                     help="Print the installed credx version and exit."),
    ] = False,
) -> None:  # fmt: skip
    """Options for every command."""


def main(args: list[str] | None = None) -> None:
    """The console script; `args` is the command line after `credx` (default: sys.argv)."""
    os.umask(0o077)  # files credx writes (database, blobs, reports) are for its own user only
    try:
        app(args=args, prog_name="credx")
    except CredxError as exc:
        fail(str(exc), exc.hint)
    except Exception as exc:  # never a traceback for what an operator can fix
        from credx.cli.failures import operator_error  # only when something went wrong

        known = operator_error(exc)
        if known is None:
            raise
        fail(*known)


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print a user-facing error (its text never read as rich markup) and exit 1."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    if hint:
        err_console.print(Text(hint))
    sys.exit(1)
