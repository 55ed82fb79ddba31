"""OpenPGP-encrypted deliveries: decrypting a vendor's `.pgp`/`.gpg`/`.asc` file with GnuPG.

Vendors encrypt to the state's public key; the private key lives in a GnuPG
home (`CREDX_GNUPG_HOME`).  We call the `gpg` binary (Debian package `gnupg`)
rather than a Python binding and judge the outcome by its machine-readable
status lines (`--status-fd`), never by its human messages or exit code alone.

A file is accepted only if it decrypts with the connector's own key (its
primary key or a subkey), its integrity check (MDC) passes, and any signature
on it verifies.  Anything else raises `PgpFailure` naming what an operator
can do.  The service key must not have a passphrase: credx never hands one to
gpg (`--pinentry-mode error` makes a protected key fail at once, not hang).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kernel.errors import CredxError

ENCRYPTED_SUFFIXES = (".pgp", ".gpg", ".asc")
TIMEOUT_SECONDS = 3600


class PgpFailure(CredxError):
    """An encrypted delivery could not be decrypted or verified; nothing of it was loaded."""

    code = "pgp_failure"
    http_status = 422


def is_encrypted_name(name: str) -> bool:
    return name.lower().endswith(ENCRYPTED_SUFFIXES)


def plaintext_name(name: str) -> str:
    """`results.csv.pgp` -> `results.csv` (a bare `x.pgp` stays `x`)."""
    return name[: -len(Path(name).suffix)] if is_encrypted_name(name) else name


def decrypt(path: Path, out_dir: Path, key: str, gnupg_home: Path) -> Path:
    """Decrypt `path` with `key` (a key id or fingerprint in `gnupg_home`) to a new file
    (mode 0600, in a private directory under `out_dir`); the caller deletes it.

    Raises `PgpFailure` when the key is missing, the file is not for that key,
    is not OpenPGP, fails its integrity check or carries a bad or unverifiable
    signature.  No plaintext is left behind on failure.
    """
    accepted = _key_fingerprints(key, gnupg_home)
    private = Path(tempfile.mkdtemp(prefix="pgp-", dir=out_dir))  # 0700
    output = private / plaintext_name(path.name).replace(os.sep, "_")
    try:
        status = _run_gpg(gnupg_home, "--decrypt", "--output", str(output), str(path))
        _judge(status.splitlines(), accepted, key, path.name)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)  # gpg writes before it checks the MDC
        raise
    output.chmod(0o600)
    return output


def _key_fingerprints(key: str, gnupg_home: Path) -> set[str]:
    """Fingerprints of the named secret key and its subkeys."""
    listing = _run_gpg(gnupg_home, "--list-secret-keys", "--with-colons", "--", key)
    fingerprints = {
        line.split(":")[9].upper() for line in listing.splitlines() if line.startswith("fpr:")
    }
    if not fingerprints:
        raise PgpFailure(
            f"the connector's pgp_key {key!r} has no secret key in the GnuPG home {gnupg_home}; "
            "import the state's private key there (gpg --homedir HOME --import)"
        )
    return fingerprints


def _run_gpg(gnupg_home: Path, *args: str) -> str:
    """Run gpg in batch mode; its status lines (or `--with-colons` listing) come back."""
    binary = shutil.which("gpg")
    if binary is None:
        raise PgpFailure("GnuPG is not installed (Debian package `gnupg`); cannot decrypt")
    command = [
        binary, "--batch", "--no-tty", "--yes", "--pinentry-mode", "error",
        "--no-auto-key-retrieve", "--homedir", str(gnupg_home), "--status-fd", "1", *args,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PgpFailure(f"gpg did not finish within {TIMEOUT_SECONDS} seconds") from None
    return done.stdout


def _judge(lines: list[str], accepted: set[str], key: str, name: str) -> None:
    """Raise `PgpFailure` unless the status lines show a clean decryption with `key`."""
    status: dict[str, list[list[str]]] = {}
    for line in lines:
        if line.startswith("[GNUPG:] "):
            keyword, *fields = line[len("[GNUPG:] ") :].split()
            status.setdefault(keyword, []).append(fields)
    reason = _failure_reason(status, accepted, key)
    if reason:
        raise PgpFailure(f"{name}: {reason}; nothing was loaded")


def _failure_reason(status: dict[str, list[list[str]]], accepted: set[str], key: str) -> str:
    if "NODATA" in status and "BEGIN_DECRYPTION" not in status:
        return "not OpenPGP data (or not encrypted); ask the vendor to send it again"
    if "BADMDC" in status:
        return "the integrity check (MDC) failed: the file was altered or damaged in transit"
    if "DECRYPTION_OKAY" not in status:
        if "NO_SECKEY" in status:
            ids = ", ".join(fields[0] for fields in status["NO_SECKEY"])
            return (
                f"no secret key: it was encrypted to key {ids}, not to the connector's "
                f"pgp_key {key!r}; ask the vendor to encrypt to the state's current public key"
            )
        return "decryption failed (damaged or not an encrypted OpenPGP message)"
    used = {fpr.upper() for fields in status.get("DECRYPTION_KEY", []) for fpr in fields[:2]}
    if not used & accepted:
        return f"it was encrypted to a key other than the connector's pgp_key {key!r}"
    if "GOODMDC" not in status and not _aead(status):
        return "the message has no integrity protection (MDC); refused"
    return _signature_problem(status)


def _aead(status: dict[str, list[list[str]]]) -> bool:
    """AEAD-encrypted (DECRYPTION_INFO's third field non-zero): integrity without an MDC."""
    return any(len(fields) > 2 and fields[2] != "0" for fields in status.get("DECRYPTION_INFO", []))


def _signature_problem(status: dict[str, list[list[str]]]) -> str:
    """An unsigned file is fine; a signed one must verify."""
    if "BADSIG" in status:
        return "the vendor's signature is BAD: the file was altered after it was signed"
    if "ERRSIG" in status:
        signer = status["ERRSIG"][0][0] if status["ERRSIG"][0] else "unknown"
        return (
            f"its signature (key {signer}) cannot be checked; import the vendor's public "
            "key into the GnuPG home"
        )
    if {"EXPKEYSIG", "REVKEYSIG"} & status.keys():
        return "it was signed with an expired or revoked vendor key"
    return ""
