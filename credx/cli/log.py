"""`credx log ...`"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from sqlmodel import col, select

from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.checkpoints import check_log, make_checkpoint, read_checkpoint, write_checkpoint
from eventlog.log import EventLog, cli_actor
from eventlog.models import Event
from kernel.database import session_scope, unit_of_work
from kernel.errors import CredxError, IntegrityFailure
from kernel.signing import ensure_signing_key, load_signing_key, public_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from credx.app import App
    from eventlog.checkpoints import CheckpointCheck

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="Also prove the log still holds the history this signed checkpoint covers.",
        ),
    ] = None,
    latest_checkpoint: Annotated[
        bool,
        typer.Option(
            "--latest-checkpoint",
            help="Also prove the log holds the history of the newest checkpoint the witness "
            "keeps (CREDX_CHECKPOINT_WITNESS_URL).",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Recompute the hash chain; exit 4 naming the first bad entry if anything was changed."""
    if checkpoint is not None:
        _verify_checkpoint(checkpoint, json_output)
        return
    if latest_checkpoint:
        _verify_latest(json_output)
        return
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        checked, problem = EventLog(session).verify()
    result = {
        "ok": problem is None,
        "entries": checked,
        "first_bad_seq": problem.seq if problem else None,
        "problem": problem.problem if problem else None,
    }
    if json_output:
        print_json(result)
    elif problem is None:
        console.print(f"event log intact: {checked} entries verified")
    else:
        err_console.print(
            f"[bold red]event log broken[/] at entry {problem.seq}: {problem.problem}"
        )
    if problem is not None:
        sys.exit(4)


@app.command("checkpoint")
def checkpoint_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the checkpoint here (never overwrites)."),
    ] = None,
    witness: Annotated[
        bool,
        typer.Option(
            "--witness",
            help="Keep it with the witness (CREDX_CHECKPOINT_WITNESS_URL), "
            "out of the database's reach.",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Sign the log's current Merkle tree head for an outside party to keep."""
    ctx = app_context()
    key = ensure_signing_key(ctx.keyring.directory)
    if witness:
        _witness(ctx, key, json_output)
        return
    with session_scope(ctx.engine) as session:
        signed = make_checkpoint(session, key, cli_actor())
        if out is not None:
            write_checkpoint(signed, out)  # inside the transaction: no file, no event
    head = signed.checkpoint
    if out is None:
        print_json(signed.document())
        return
    if json_output:
        print_json({"path": str(out), **head.model_dump(mode="json")})
        return
    console.print(
        f"checkpoint of {head.tree_size} entries (root {head.root_hash}) signed by key "
        f"{head.signing_key_id[:16]} written to {out}",
        markup=False,
    )


def _witness(ctx: App, key: Ed25519PrivateKey, json_output: bool) -> None:
    from exchange.witness import open_witness, witness_checkpoint

    store = open_witness(ctx.settings)
    with unit_of_work(ctx.engine) as session:
        kept = witness_checkpoint(session, key, store, cli_actor())
    head = kept.signed.checkpoint
    if json_output:
        print_json({"path": kept.where, **head.model_dump(mode="json")})
        return
    console.print(f"checkpoint of {head.tree_size} entries (root {head.root_hash}) kept at "
                  f"{kept.where}", markup=False)  # fmt: skip


def _verify_latest(json_output: bool) -> None:
    import tempfile

    from exchange.witness import open_witness, verify_latest

    ctx = app_context()
    own = load_signing_key(ctx.keyring.directory)
    if own is None:
        raise CredxError("this installation has no signing key: run `credx init`")
    store = open_witness(ctx.settings)
    try:
        with session_scope(ctx.engine) as session, tempfile.TemporaryDirectory() as scratch:
            where, check = verify_latest(session, store, public_bytes(own.public_key()),
                                         Path(scratch))  # fmt: skip
    except IntegrityFailure as exc:
        _report_failure(str(exc), None, json_output)
        return
    _report_check(check, where, json_output)


def _report_check(check: CheckpointCheck, where: str | None, json_output: bool) -> None:
    """Exit 4 when the checkpoint is not upheld; `where` names a witnessed one."""
    head = check.checkpoint
    result = {
        "ok": check.ok, "entries": check.entries, "first_bad_seq": check.first_bad_seq,
        "problem": check.problem, "checkpoint": head.model_dump(mode="json"),
        **({"checkpoint_at": where} if where else {}), "current_root": check.current_root,
        "consistency_proof": check.consistency_proof,
    }  # fmt: skip
    if not check.ok:
        _report_failure(check.problem or "", result, json_output)
    if json_output:
        print_json(result)
    else:
        console.print(
            f"event log intact: all {head.tree_size} entries of the checkpoint of "
            f"{head.timestamp}{f' ({where})' if where else ''} are unchanged; the log now has "
            f"{check.entries} entries",
            markup=False,
        )


def _verify_checkpoint(path: Path, json_output: bool) -> None:
    ctx = app_context()
    own = load_signing_key(ctx.keyring.directory)
    if own is None:
        raise CredxError("this installation has no signing key: run `credx init`")
    try:
        head = read_checkpoint(path, public_bytes(own.public_key()))
    except IntegrityFailure as exc:
        _report_failure(str(exc), None, json_output)
        return
    with session_scope(ctx.engine) as session:
        check = check_log(session, head)
    _report_check(check, None, json_output)


def _report_failure(problem: str, result: dict | None, json_output: bool) -> None:
    if json_output:
        print_json(result or {"ok": False, "problem": problem})
    else:
        err_console.print(f"[bold red]checkpoint not upheld:[/] {problem}")
    sys.exit(4)


@app.command("show")
def show(
    subject: Annotated[
        str | None, typer.Option(help="Only entries about this subject, e.g. delivery:3")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Show the latest entries of the event log."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        query = select(Event).order_by(col(Event.seq).desc()).limit(limit)
        if subject:
            query = query.where(Event.subject == subject)
        rows = [e.model_dump() for e in session.exec(query)][::-1]
    if json_output:
        print_json([{**r, "payload": json.loads(r["payload"])} for r in rows])
        return
    table = Table("seq", "when (UTC)", "actor", "action", "subject", "details")
    for r in rows:
        table.add_row(
            str(r["seq"]),
            r["occurred_at"][:19],
            r["actor"],
            r["action"],
            r["subject"],
            r["payload"],
        )
    console.print(table)
