"""`credx agreements purge`, `verify-certificate` and `signing-key` (registered in
`credx.cli.agreements`).

Exit codes: `verify-certificate` exits 4 when the certificate is not genuine
(altered, or signed by another key), like `credx log verify` for the log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
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
from retention.certificates import verify_certificate
from retention.destruction import AgreementPlan, PurgePlan, PurgeRun, run_purge

EXIT_NOT_GENUINE = 4

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
    no other agreement still covers (backups of them become unreadable), then
    writes a signed certificate of destruction per agreement to the reports
    directory.  The daily schedule runs the same purge.
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
            }
            for d in item.deliveries
        ],
    }


def _run_json(run: PurgeRun) -> dict[str, Any]:
    return {
        "dry_run": run.dry_run,
        "today": run.plan.today.isoformat(),
        "agreements": [_plan_json(a) for a in run.plan.agreements],
        "already_purged": [
            {"agreement_id": a, "purged_at": when.isoformat()}
            for a, when in run.plan.already_purged
        ],
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
    if not run.plan.agreements:
        if not run.plan.already_purged:
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
    json_output: JsonFlag = False,
) -> None:
    """Check a certificate of destruction; exit 4 with the reason if it is not genuine."""
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
    if json_output:
        print_json({"valid": True, "certificate": cert.as_json()})
        return
    console.print(
        f"genuine: certificate {cert.certificate_id} (key {cert.signing_key_id[:16]}) states that "
        f"on {cert.destroyed_at} {cert.destroyed_by} destroyed agreement {cert.agreement_id}'s "
        f"{cert.rows_destroyed} rows, {cert.rejected_rows_destroyed} rejected rows and "
        f"{len(cert.files)} files ({cert.reason})",
        markup=False,
    )


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
