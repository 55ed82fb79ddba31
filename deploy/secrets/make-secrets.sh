#!/bin/sh
# Generate the secret files compose.yaml mounts (random passwords; run once,
# as root, from deploy/).  Existing files are kept: rotating a password is a
# runbook step (RUNBOOK.md), not a re-run of this script.
set -eu
cd "$(dirname "$0")"
umask 077
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
[ -f postgres_password ] || rand > postgres_password
[ -f pgpass ] || printf 'db:5432:credx:credx:%s\n' "$(cat postgres_password)" > pgpass
[ -f minio_root_user ] || echo credx-admin > minio_root_user
[ -f minio_root_password ] || rand > minio_root_password
[ -f s3_credentials ] || printf '[default]\naws_access_key_id = credx\naws_secret_access_key = %s\n' \
    "$(rand)" > s3_credentials
# credx runs as uid 10001 in the image; libpq refuses a pgpass readable by others.
chown 10001:10001 pgpass s3_credentials
chmod 0600 ./*_password minio_root_user pgpass s3_credentials
ls -l
