"""`credx agreements purge`, `verify-certificate` and `signing-key` (registered in
`credx.cli.agreements`).

Exit codes: `verify-certificate` exits 4 when the certificate is not genuine
(altered, or signed by another key), like `credx log verify` for the log, and
with `--against-store` exits 5 when it is genuine but a copy it lists as
destroyed can still be read in this installation (e.g. after a restore).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
from kernel.database import session_scope
from kernel.errors import CredxError, IntegrityFailure, InvalidInput
from kernel.settings import load_settings
from kernel.signing import (
    ensure_signing_key,
    load_signing_key,
    parse_public_key,
    public_bytes,
    public_key_pem,
    signing_key_path,
)
from retention.certificates import Certificate, verify_certificate
from retention.copies import Remaining, check_against_store
from retention.destruction import PurgeRun, run_purge
from retention.plans import AgreementPlan, CopyPlan, DeliveryPlan, PurgePlan

EXIT_NOT_GENUINE = 4
EXIT_COPY_REMAINS = 5

FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="A certificate of destruction")]


def purge(
    agreement: Annotated[
        str | None,
        typer.Option("--agreement", metavar="ID", help="Only this agreement (refused if not due)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be destroyed; change nothing.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Destroy the data of agreements whose retention has ended, and certify it.

    Deletes the agreement's exam results and crypto-shreds the original files
    no other agreement still covers, with every other copy of the same bytes
    (backups of them become unreadable), then writes a signed certificate of
    destruction per agreement to the reports directory.  Deliveries held by no
    agreement are destroyed once `unassigned_retention_days` have passed.
    Refuses to sign, and destroys nothing, while a copy remains readable.  The
    daily schedule runs the same purge.
    """
    ctx = app_context()
    run = run_purge(ctx, actor=cli_actor(), agreement_id=agreement, dry_run=dry_run)
    if json_output:
        print_json(_run_json(run))
    else:
        _print_run(run)


def _plan_json(item: AgreementPlan) -> dict[str, Any]:
    return {
        "agreement_id": item.agreement_id,
        "version": item.version,
        "vendor": item.vendor,
        "states": list(item.states),
        "retention_ended": item.retention_ended.isoformat(),
        "rows": item.rows,
        "deliveries": [
            {
                "delivery_id": d.delivery_id,
                "original_name": d.original_name,
                "sha256": d.sha256,
                "size": d.size,
                "blob_id": d.blob_id,
                "rows": d.rows,
                "file_destroyed": d.destroy_file,
                "rejected_rows": d.rejected_rows,
                "linked_records": d.linked_records,
                "kept_because": d.kept_because,
                "copies": [_copy_json(c) for c in d.copies],
            }
            for d in item.deliveries
        ],
    }


def _copy_json(c: CopyPlan) -> dict[str, Any]:
    return {"delivery_id": c.delivery_id, "blob_id": c.blob_id, "status": c.status,
            "rejected_rows": c.rejected_rows}  # fmt: skip


def _unassigned_json(d: DeliveryPlan) -> dict[str, Any]:
    return {
        "delivery_id": d.delivery_id, "vendor": d.vendor, "original_name": d.original_name,
        "sha256": d.sha256, "size": d.size, "blob_id": d.blob_id,
        "rejected_rows": d.rejected_rows,
    }  # fmt: skip


def _run_json(run: PurgeRun) -> dict[str, Any]:
    return {
        "dry_run": run.dry_run,
        "today": run.plan.today.isoformat(),
        "agreements": [_plan_json(a) for a in run.plan.agreements],
        "already_purged": [
            {"agreement_id": a, "purged_at": when.isoformat()}
            for a, when in run.plan.already_purged
        ],
        "unassigned": [_unassigned_json(d) for d in run.plan.unassigned],
        "certificates": [
            {
                "agreement_id": signed.certificate.agreement_id,
                "certificate_id": signed.certificate.certificate_id,
                "path": str(path),
                "rows_destroyed": signed.certificate.rows_destroyed,
                "rejected_rows_destroyed": signed.certificate.rejected_rows_destroyed,
                "files_destroyed": len(signed.certificate.files),
                "files_retained": len(signed.certificate.files_retained),
            }
            for signed, path in run.certificates
        ],
    }


def _print_run(run: PurgeRun) -> None:
    for agreement_id, when in run.plan.already_purged:
        console.print(f"agreement {agreement_id} was already purged on {when:%Y-%m-%d}")
    for d in run.plan.unassigned:
        verb = "would be destroyed" if run.dry_run else "destroyed"
        console.print(
            f"delivery {d.delivery_id} {d.original_name} ({d.sha256[:12]}) of {d.vendor}, held "
            f"by no agreement: {verb} with {d.rejected_rows} rejected rows",
            markup=False,
        )
    if not run.plan.agreements:
        if not run.plan.already_purged and not run.plan.unassigned:
            console.print(f"nothing is due for destruction on {run.plan.today.isoformat()}")
        return
    if run.dry_run:
        _print_plan(run.plan)
        console.print("dry run: nothing was changed")
        return
    for signed, path in run.certificates:
        cert = signed.certificate
        console.print(
            f"agreement {cert.agreement_id}: {cert.rows_destroyed} rows, "
            f"{cert.rejected_rows_destroyed} rejected rows and {len(cert.files)} files destroyed, "
            f"{len(cert.files_retained)} files kept for other agreements"
        )
        console.print(f"  certificate {path}", markup=False)


def _print_plan(plan: PurgePlan) -> None:
    for item in plan.agreements:
        console.print(
            f"agreement {item.agreement_id} (version {item.version}, {item.vendor}, "
            f"{', '.join(item.states)}; retention ended {item.retention_ended.isoformat()}): "
            f"{item.rows} rows would be deleted",
            markup=False,
        )
        for d in item.deliveries:
            fate = (
                f"file destroyed with {d.rejected_rows} rejected rows"
                if d.destroy_file
                else f"file kept ({d.kept_because})"
            )
            console.print(
                f"  delivery {d.delivery_id} {d.original_name} ({d.sha256[:12]}): "
                f"{d.rows} rows; {fate}",
                markup=False,
            )
            for c in d.copies:
                console.print(
                    f"    same bytes as delivery {c.delivery_id} ({c.status}): destroyed too",
                    markup=False,
                )


def verify(
    path: FileArgument,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            metavar="FILE",
            help="The issuer's published key (PEM, or base64 of the raw key). "
            "Default: this installation's own signing key.",
        ),
    ] = None,
    against_store: Annotated[
        bool,
        typer.Option(
            "--against-store",
            help="Also check this installation: no copy of a listed file decrypts and no row "
            "of the agreement is left (exit 5 if one is).",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Check a certificate of destruction; exit 4 with the reason if it is not genuine.

    With `--against-store`, re-check its claim that no readable copy remains
    against this installation's database and blob store (e.g. after a restore).
    """
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    trusted = _trusted_key(public_key)
    try:
        cert = verify_certificate(path, trusted)
    except IntegrityFailure as exc:
        if json_output:
            print_json({"valid": False, "reason": str(exc)})
        else:
            err_console.print(f"[bold red]not genuine:[/] {exc}")
        sys.exit(EXIT_NOT_GENUINE)
    left = _against_store(cert) if against_store else None
    if json_output:
        result: dict[str, Any] = {"valid": True, "certificate": cert.as_json()}
        if left is not None:
            result["readable_copies"] = [c.as_json() for c in left.copies]
            result["rows_remaining"] = left.rows
            result["rows_unreadable"] = left.unreadable_rows
            result["field_keys_remaining"] = list(left.field_keys)
        print_json(result)
    else:
        _print_verified(cert, left)
    if left:
        sys.exit(EXIT_COPY_REMAINS)


def _against_store(cert: Certificate) -> Remaining:
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        return check_against_store(ctx.vault(session), cert, cli_actor())


def _print_verified(cert: Certificate, left: Remaining | None) -> None:
    console.print(
        f"genuine: certificate {cert.certificate_id} (key {cert.signing_key_id[:16]}) states that "
        f"on {cert.destroyed_at} {cert.destroyed_by} destroyed agreement {cert.agreement_id}'s "
        f"{cert.rows_destroyed} rows, {cert.rejected_rows_destroyed} rejected rows and "
        f"{len(cert.files)} files ({cert.reason})",
        markup=False,
    )
    if left is None:
        return
    if left:
        err_console.print(f"[bold red]not true of this store:[/] {left.describe()}")
    else:
        console.print("this store holds no readable copy of a listed file and no row of the "
                      "agreement")  # fmt: skip


def _trusted_key(path: Path | None) -> bytes:
    if path is not None:
        if not path.is_file():
            raise InvalidInput(f"public key file {path} is not a readable file")
        return parse_public_key(path.read_bytes())
    keys_dir = load_settings().resolved_keys_dir
    own = load_signing_key(keys_dir)
    if own is None:
        raise CredxError(
            f"this installation has no signing key ({signing_key_path(keys_dir)}): pass "
            "--public-key FILE with the key the certificate's issuer published"
        )
    return public_bytes(own.public_key())


def signing_key(
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the PEM here instead")
    ] = None,
) -> None:
    """Print the public key that signs certificates of destruction, for the state to publish.

    Makes the key pair on first use; the private key never leaves the keys directory.
    """
    pem = public_key_pem(ensure_signing_key(app_context().keyring.directory))
    if out is None:
        sys.stdout.write(pem)
        return
    out.write_text(pem, encoding="ascii")
    err_console.print(f"public key written to {out}", markup=False)
