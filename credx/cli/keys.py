"""`credx keys ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import EventLog, cli_actor
from exchange.events import ExchangeEvent
from exchange.vault import check_stored_files
from kernel.database import session_scope

app = typer.Typer(no_args_is_help=True)


@app.command("rotate")
def rotate(json_output: JsonFlag = False) -> None:
    """Make a new master key and re-wrap every data key under it (blobs are not rewritten).

    Old key files stay in the keys directory: backups of the database taken
    before the rotation still need them.  Retire them only with those backups.
    """
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        previous = ctx.keyring.active_id()
        new_id, rewrapped = ctx.vault(session).rotate_master_key()
        EventLog(session).record(
            ExchangeEvent.KEY_ROTATED,
            f"key:{new_id}",
            cli_actor(),
            previous=previous,
            rewrapped=rewrapped,
        )
    result = {
        "master_key_id": new_id,
        "previous_key_id": previous,
        "data_keys_rewrapped": rewrapped,
    }
    if json_output:
        print_json(result)
    else:
        console.print(f"master key {new_id} is active; {rewrapped} data keys re-wrapped")


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List master key ids (never the keys); the last one is active."""
    ctx = app_context()
    ids = ctx.keyring.key_ids()
    if json_output:
        print_json({"keys": ids, "active": ids[-1] if ids else None})
        return
    for key_id in ids:
        console.print(f"{key_id}{'  (active)' if key_id == ids[-1] else ''}")


@app.command("check")
def check(
    sample: Annotated[
        int, typer.Option("--sample", min=1, help="How many stored files to decrypt, at random")
    ] = 20,
    every: Annotated[bool, typer.Option("--all", help="Decrypt every stored file")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Decrypt stored files end to end and compare each with its recorded SHA-256.

    The restore drill (deploy/RUNBOOK.md): proves the restored keys, database and
    blob store belong together.  Plaintext is discarded; exits 4 if any file fails.
    """
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        found = check_stored_files(ctx.vault(session), None if every else sample, cli_actor())
    result = found.as_json()
    failures = result["failures"]
    if json_output:
        print_json(result)
    else:
        for failure in failures:
            console.print(f"[red]FAILED[/] {failure['error']}")
        checked = result["blobs_checked"]
        console.print(
            f"{checked - len(failures)} of {checked} checked files decrypt and match "
            f"({result['blobs_total']} stored)"
        )
    if failures:
        raise typer.Exit(4)
