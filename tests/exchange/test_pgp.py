"""OpenPGP deliveries: decrypted with real GnuPG using the connector's key, or quarantined."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from exchange.pgp import PgpFailure, decrypt, plaintext_name
from exchange.pulls import apply_connector, pull
from kernel.database import session_scope
from tests.exchange.local_pulls import connector_text, counts
from tests.factories import csv_text, delivery_of, exam_rows, make_vendor, write_file


def gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["gpg", "--batch", "--no-tty", "--homedir", str(home), *args],
        input=data, capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout


def new_home(root: Path, name: str, uid: str) -> tuple[Path, str]:
    """A GnuPG home with one unprotected ed25519/cv25519 key; returns (home, fingerprint)."""
    home = root / name
    home.mkdir(mode=0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "futuredefault", "default", "never")
    listing = gpg(home, "--list-secret-keys", "--with-colons").decode()
    return home, next(line.split(":")[9] for line in listing.splitlines() if line[:4] == "fpr:")


@dataclass(frozen=True)
class Keys:
    state: Path  # the state's home: its private key, the vendor's public key
    state_fpr: str
    vendor: Path  # the vendor's home: its signing key, the state's public key
    other: Path  # an unrelated key pair (another state, an old key)
    other_fpr: str

    def encrypt(self, plaintext: bytes, *, to: str, sign: bool = False) -> bytes:
        args = ["--trust-model", "always", "--encrypt", "--recipient", to]
        return gpg(self.vendor, *args, *(["--sign"] if sign else []), data=plaintext)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    root = tmp_path_factory.mktemp("gnupg")
    state, state_fpr = new_home(root, "state", "credx test <t@example.invalid>")
    vendor, _ = new_home(root, "vendor", "vendor <v@example.invalid>")
    other, other_fpr = new_home(root, "other", "other <o@example.invalid>")
    gpg(vendor, "--import", data=gpg(state, "--export", state_fpr))
    gpg(vendor, "--import", data=gpg(other, "--export", other_fpr))
    yield Keys(state, state_fpr, vendor, other, other_fpr)
    for home in (state, vendor, other):  # the agents gpg started for these homes
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


@pytest.fixture
def drop(app, tmp_path, keys, monkeypatch) -> Path:
    """A local connector `nccer-drop` with the state's pgp_key; returns its drop folder."""
    monkeypatch.setattr(app.settings, "gnupg_home", keys.state)
    vendor = make_vendor(app)
    folder = tmp_path / "drop"
    folder.mkdir()
    text = connector_text(vendor, folder) + f"pgp_key: {keys.state_fpr}\n"
    with session_scope(app.engine) as session:
        apply_connector(session, text, "drop.yaml", "test")
    return folder


def only_delivery(app, report):
    [item] = report.items
    return item, delivery_of(app, item.delivery_id)


def test_plaintext_names_drop_the_openpgp_suffix():
    assert plaintext_name("results.csv.pgp") == "results.csv"
    assert plaintext_name("results.csv.GPG") == "results.csv"
    assert plaintext_name("results.csv") == "results.csv"


def test_decrypt_leaves_a_private_plaintext_and_nothing_on_failure(keys, tmp_path):
    plaintext = csv_text(exam_rows(2)).encode()
    good = write_file(tmp_path, "a.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr))
    out = decrypt(good, tmp_path, keys.state_fpr, keys.state)
    assert out.read_bytes() == plaintext and out.stat().st_mode & 0o777 == 0o600
    assert out.parent.stat().st_mode & 0o777 == 0o700
    tampered = bytearray(good.read_bytes())
    tampered[-20] ^= 1
    bad = write_file(tmp_path, "b.csv.pgp", bytes(tampered))
    with pytest.raises(PgpFailure, match="integrity"):
        decrypt(bad, tmp_path, keys.state_fpr, keys.state)
    with pytest.raises(PgpFailure, match="no secret key in the GnuPG home"):
        decrypt(good, tmp_path, keys.other_fpr, keys.state)
    assert sorted(p.name for p in tmp_path.rglob("*.csv")) == ["a.csv"]  # only the good one


def test_an_encrypted_file_is_decrypted_loaded_and_cleaned_up(app, drop, keys):
    plaintext = csv_text(exam_rows(3)).encode()
    write_file(drop, "a.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr))
    write_file(drop, "b.csv", csv_text(exam_rows(2, seed=9)))  # plaintext still works
    report = pull(app, "nccer-drop", actor="test")
    assert [i.outcome["status"] for i in report.items] == ["loaded", "loaded"]
    assert counts(app) == (2, 5, 2) and list(drop.iterdir()) == []
    delivery = delivery_of(app, report.items[0].delivery_id)
    assert delivery.original_name == "a.csv"
    assert delivery.sha256 == hashlib.sha256(plaintext).hexdigest()
    assert not list(app.settings.home.rglob("*.csv"))  # no plaintext left on disk


def test_the_same_file_encrypted_again_is_a_duplicate(app, drop, keys):
    plaintext = csv_text(exam_rows(3)).encode()
    write_file(drop, "a.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr))
    pull(app, "nccer-drop", actor="test")
    write_file(drop, "a2.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr))
    item, _ = only_delivery(app, pull(app, "nccer-drop", actor="test"))
    assert item.outcome["status"] == "duplicate" and counts(app) == (2, 3, 2)


def test_a_file_for_another_key_is_quarantined_and_left_with_the_vendor(app, drop, keys):
    ciphertext = keys.encrypt(csv_text(exam_rows(3)).encode(), to=keys.other_fpr)
    write_file(drop, "a.csv.pgp", ciphertext)
    _, delivery = only_delivery(app, pull(app, "nccer-drop", actor="test"))
    assert delivery.status == "quarantined" and "no secret key" in delivery.error
    assert delivery.original_name == "a.csv.pgp"
    assert counts(app) == (1, 0, 1) and (drop / "a.csv.pgp").exists()
    with session_scope(app.engine) as session:  # what arrived is kept, exactly
        assert app.vault(session).read_bytes(delivery.blob_id) == ciphertext
    again = pull(app, "nccer-drop", actor="test")
    assert [i.status for i in again.items] == ["already_pulled"]
    assert counts(app) == (1, 0, 1) and (drop / "a.csv.pgp").exists()


def test_a_tampered_or_garbage_file_is_quarantined(app, drop, keys):
    ciphertext = bytearray(keys.encrypt(csv_text(exam_rows(3)).encode(), to=keys.state_fpr))
    ciphertext[-20] ^= 1
    write_file(drop, "a.csv.pgp", bytes(ciphertext))
    write_file(drop, "b.csv.gpg", b"not openpgp at all\n")
    report = pull(app, "nccer-drop", actor="test")
    errors = [delivery_of(app, i.delivery_id).error for i in report.items]
    assert [i.outcome["status"] for i in report.items] == ["quarantined", "quarantined"]
    assert "integrity check (MDC) failed" in errors[0] and "not OpenPGP" in errors[1]
    assert counts(app) == (2, 0, 2) and len(list(drop.iterdir())) == 2


@pytest.fixture
def own_state_home(app, keys, tmp_path, monkeypatch) -> Path:
    """A copy of the state's GnuPG home this test may change."""
    home = tmp_path / "gh"
    shutil.copytree(keys.state, home, ignore=shutil.ignore_patterns("S.*"))
    monkeypatch.setattr(app.settings, "gnupg_home", home)
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def test_a_signature_must_verify_when_there_is_one(app, drop, keys, own_state_home):
    plaintext = csv_text(exam_rows(3)).encode()
    write_file(drop, "a.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr, sign=True))
    _, delivery = only_delivery(app, pull(app, "nccer-drop", actor="test"))
    assert delivery.status == "quarantined" and "cannot be checked" in delivery.error
    (drop / "a.csv.pgp").unlink()  # the operator has looked at it
    gpg(own_state_home, "--import", data=gpg(keys.vendor, "--export", "v@example.invalid"))
    write_file(drop, "b.csv.pgp", keys.encrypt(plaintext, to=keys.state_fpr, sign=True))
    item, _ = only_delivery(app, pull(app, "nccer-drop", actor="test"))
    assert item.outcome["status"] == "loaded" and counts(app)[1] == 3


def test_an_encrypted_file_without_a_pgp_key_is_quarantined(app, tmp_path):
    vendor = make_vendor(app)
    folder = tmp_path / "drop"
    folder.mkdir()
    with session_scope(app.engine) as session:
        apply_connector(session, connector_text(vendor, folder), "drop.yaml", "test")
    write_file(folder, "a.csv.gpg", b"\x85\x01\x0c")
    _, delivery = only_delivery(app, pull(app, "nccer-drop", actor="test"))
    assert delivery.status == "quarantined" and "names no pgp_key" in delivery.error
    assert (folder / "a.csv.gpg").exists()


def test_only_the_connectors_key_may_decrypt(keys, tmp_path):
    """A home holding two secret keys: a file for the other one is refused, not decrypted."""
    home = tmp_path / "gh"
    shutil.copytree(keys.state, home, ignore=shutil.ignore_patterns("S.*"))
    secret = gpg(keys.other, "--pinentry-mode", "loopback", "--passphrase", "",
                 "--export-secret-keys", keys.other_fpr)  # fmt: skip
    gpg(home, "--import", data=secret)
    path = write_file(tmp_path, "a.csv.pgp", keys.encrypt(b"a,b\n", to=keys.other_fpr))
    try:
        with pytest.raises(PgpFailure, match="a key other than the connector's"):
            decrypt(path, tmp_path, keys.state_fpr, home)
        assert decrypt(path, tmp_path, keys.other_fpr, home).read_bytes() == b"a,b\n"
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
