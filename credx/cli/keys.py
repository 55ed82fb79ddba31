"""`credx keys ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import EventLog, cli_actor
from exchange.events import ExchangeEvent
from exchange.vault import Vault, check_stored_files
from kernel.database import session_scope
from kernel.errors import CredxError

app = typer.Typer(no_args_is_help=True)


@app.command("rotate")
def rotate(json_output: JsonFlag = False) -> None:
    """Make a new master key and re-wrap every data key under it (blobs are not rewritten).

    With local key files: a new key file.  With `CREDX_KMS_KEY_ID` set: every
    data key is re-wrapped in KMS under the key's current material, data keys
    still wrapped by key files included (this moves an installation to KMS).
    Old key files stay in the keys directory: backups of the database taken
    before the rotation still need them.  Retire them only with those backups.
    """
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        vault = ctx.vault(session)
        previous = _active_or_none(vault)
        new_id, rewrapped = vault.rotate_master_key()
        provider = vault.keys.provider_name(new_id)
        fields = ctx.field_keys.rewrap()  # the field keys of sealed database values too
        EventLog(session).record(
            ExchangeEvent.KEY_ROTATED,
            f"key:{new_id}",
            cli_actor(),
            previous=previous,
            rewrapped=rewrapped,
            provider=provider,
            field_keys_rewrapped=fields,
        )
    result = {
        "master_key_id": new_id,
        "previous_key_id": previous,
        "data_keys_rewrapped": rewrapped,
        "provider": provider,
        "field_keys_rewrapped": fields,
    }
    if json_output:
        print_json(result)
    else:
        console.print(
            f"master key {new_id} ({provider}) is active; {rewrapped} data keys re-wrapped"
        )


def _active_or_none(vault: Vault) -> str | None:
    try:
        return vault.keys.active_id()
    except CredxError:  # no key file yet: the rotation makes the first
        return None


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List master key ids (never the keys) and their providers; the active one is marked."""
    ctx = app_context()
    ids = ctx.keyring.key_ids()
    providers = dict.fromkeys(ids, "local")
    active = ids[-1] if ids else None
    if ctx.kms is not None:
        active = ctx.kms.active_id()
        ids.append(active)
        providers[active] = ctx.kms.name
    if json_output:
        print_json({"keys": ids, "active": active, "providers": providers})
        return
    for key_id in ids:
        console.print(f"{key_id} ({providers[key_id]}){'  (active)' if key_id == active else ''}")


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
    blob store belong together.  Lists each master key holding live data keys
    and its provider (local key file or AWS KMS).  Plaintext is discarded;
    exits 4 if any file fails.
    """
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        found = check_stored_files(ctx.vault(session), None if every else sample, cli_actor())
    result = found.as_json()
    result["field_keys"] = ctx.field_keys.holders()  # the keys of sealed database values
    failures = result["failures"]
    if json_output:
        print_json(result)
    else:
        for key in result["keys"]:
            active = ", active" if key["active"] else ""
            console.print(
                f"master key {key['key_id']} ({key['provider']}{active}): "
                f"{key['data_keys']} data keys",
                markup=False,
            )
        for key in result["field_keys"]:
            console.print(
                f"master key {key['key_id']} ({key['provider']}): wraps {key['field_keys']} "
                "field keys",
                markup=False,
            )
        for failure in failures:
            console.print(f"[red]FAILED[/] {failure['error']}")
        checked = result["blobs_checked"]
        console.print(
            f"{checked - len(failures)} of {checked} checked files decrypt and match "
            f"({result['blobs_total']} stored)"
        )
    if failures:
        raise typer.Exit(4)
