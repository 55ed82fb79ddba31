"""The compose helpers run for real: make-secrets.sh writes files the services can
read, and blobstore-init.sh (with a stand-in `mc`) creates the access key they hold.
"""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess

from tests.deploy.files import DEPLOY


def make_secrets(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    shutil.copy(DEPLOY / "secrets" / "make-secrets.sh", secrets)
    subprocess.run(["sh", str(secrets / "make-secrets.sh")], check=True, capture_output=True)
    return secrets


def test_make_secrets_writes_private_files_that_agree_and_keeps_them(tmp_path):
    secrets = make_secrets(tmp_path)
    password = (secrets / "postgres_password").read_text().strip()
    assert len(password) >= 40
    assert (secrets / "pgpass").read_text() == f"db:5432:credx:credx:{password}\n"
    s3 = configparser.ConfigParser()
    s3.read(secrets / "s3_credentials")
    assert s3["default"]["aws_access_key_id"] == "credx"
    assert len(s3["default"]["aws_secret_access_key"]) >= 40
    for name in ("postgres_password", "pgpass", "minio_root_password", "s3_credentials"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600, name
    assert (secrets / "pgpass").stat().st_uid == 10001  # the image's credx user
    before = {p.name: p.read_bytes() for p in secrets.iterdir()}
    subprocess.run(["sh", str(secrets / "make-secrets.sh")], check=True, capture_output=True)
    assert {p.name: p.read_bytes() for p in secrets.iterdir()} == before


def test_blobstore_init_creates_the_key_from_the_secret_files(tmp_path):
    secrets = make_secrets(tmp_path)
    bin_dir, calls = tmp_path / "bin", tmp_path / "mc-calls"
    bin_dir.mkdir()
    (bin_dir / "mc").write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {calls}\necho >> {calls}\n')
    (bin_dir / "mc").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SECRETS_DIR": str(secrets), "TMPDIR": str(tmp_path)}
    subprocess.run(["sh", str(DEPLOY / "blobstore-init.sh")], env=env, check=True,
                   capture_output=True)
    s3 = configparser.ConfigParser()
    s3.read(secrets / "s3_credentials")
    secret = s3["default"]["aws_secret_access_key"]
    root_password = (secrets / "minio_root_password").read_text().strip()
    lines = calls.read_text().splitlines()
    assert lines[0] == f"alias|set|local|http://blobstore:9000|credx-admin|{root_password}|"
    assert "mb|--ignore-existing|local/credx-blobs|" in lines
    assert f"admin|user|add|local|credx|{secret}|" in lines
    assert "admin|policy|attach|local|credx-blobs|--user|credx|" in lines
    policy = (tmp_path / "credx-blobs-policy.json").read_text()
    assert '"arn:aws:s3:::credx-blobs/*"' in policy and '"s3:*"' not in policy
